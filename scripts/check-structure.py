#!/usr/bin/env python3
"""The process model's rules (docs/design.md), checked on the sources so they hold:

- at most four files import the C library (Glibc, Musl, Darwin), all in PARBytes;
- thread and lock primitives appear in Sources/PARBytes/Threads.swift only;
- at most four `@unchecked Sendable`, each with a comment just above saying why;
- no function body is over 60 lines (sources, tests, examples, fuzz target);
- no library string (everything but Sources/par) names a flag or an environment variable:
  the CLI adds its advice (Sources/par/ErrorHints.swift).

Prints each breach on a line of its own and exits 1 when there is one.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIBC = re.compile(r'^\s*(?:@\w+\s+)*(?:(?:public|package|internal|private|fileprivate)\s+)?import\s+'
                  r'(?:(?:struct|class|enum|protocol|typealias|func|let|var)\s+)?(Glibc|Musl|Darwin)\b', re.M)
THREADS = re.compile(r'pthread_|\bNSLock\b|\bNSCondition\b|\bDispatchSemaphore\b|\bDispatchQueue\b|\bNIOLockedValueBox\b'
                     r'|\bNIOLock\b|\bConditionLock\b|\bMutex<|\bThread\b\s*[.(]|os_unfair_lock|concurrentPerform')
# Attributes are dropped from a line before it is matched (they may nest parentheses).
ATTRIBUTE = re.compile(r'@\w+(?:\((?:[^()]|\([^()]*\))*\))?\s*')
DECLARATION = re.compile(r'^\s*(?:(?:public|package|internal|private|fileprivate|open|static|final|override|mutating|nonmutating'
                         r'|nonisolated|convenience|required|consuming|borrowing|class)(?:\(set\))?\s+)*'
                         r'(?:func\b|init[?!]?|deinit\b|subscript\b)')
OTHER = re.compile(r'^\s*(?:\w+\s+)*(?:struct|class|enum|protocol|extension|actor|var|let|case|typealias)\b|^\s*\}')
FLAG = re.compile(r'(?:^|[^\w-])--[a-z]|\b(?:PAR|WASH|XDG)_[A-Z_]{3,}\b|\b(?:WIT_DIR|DOCKER_CONFIG|TMPDIR|HOME)\b')


def swift_files(*folders):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob('*.swift'))


def code_and_strings(text):
    """The text with comments and string literals blanked (lines kept), and the literals."""
    code, strings, i, line = [], [], 0, 1
    while i < len(text):
        if text.startswith('//', i):
            end = text.find('\n', i)
            i = len(text) if end < 0 else end
        elif text.startswith('/*', i):
            end = text.find('*/', i)
            end = len(text) if end < 0 else end + 2
            code.append('\n' * text.count('\n', i, end))
            i = end
        elif text.startswith('"""', i):
            end = text.find('"""', i + 3)
            end = len(text) if end < 0 else end + 3
            strings.append((line, text[i:end]))
            code.append('""' + '\n' * text.count('\n', i, end))
            line += text.count('\n', i, end)
            i = end
        elif text[i] == '"':
            j = i + 1
            while j < len(text) and text[j] not in '"\n':
                j += 2 if text[j] == '\\' else 1
            strings.append((line, text[i:j + 1]))
            code.append('""')
            i = j + 1
        else:
            if text[i] == '\n':
                line += 1
            code.append(text[i])
            i += 1
    return ''.join(code), strings


def long_functions(path, code, limit=60):
    lines = code.split('\n')
    declarations = [bool(DECLARATION.match(ATTRIBUTE.sub('', text))) for text in lines]
    for number, text in enumerate(lines):
        if not declarations[number]:
            continue
        depth, start = 0, None
        for row in range(number, len(lines)):
            if start is None and row > number and (declarations[row] or OTHER.match(ATTRIBUTE.sub('', lines[row]))):
                break  # a requirement without a body: the next declaration, or the scope's end, came first
            for character in lines[row]:
                if character == '{':
                    start = row if start is None else start
                    depth += 1
                elif character == '}' and start is not None:
                    depth -= 1
                    if depth == 0:
                        break
            else:
                continue
            if start is not None and row - start - 1 > limit:
                yield f'{path.relative_to(ROOT)}:{number + 1}: a function body of {row - start - 1} lines (at most {limit})'
            break


def main():
    breaches = []
    importers = [path for path in swift_files('Sources') if LIBC.search(path.read_text())]
    if len(importers) > 4 or any('Sources/PARBytes/' not in str(path) for path in importers):
        breaches.append('files importing the C library (at most four, in PARBytes): '
                        + ', '.join(str(path.relative_to(ROOT)) for path in importers))
    unchecked = []
    for path in swift_files('Sources'):
        text = path.read_text()
        code, strings = code_and_strings(text)
        relative = str(path.relative_to(ROOT))
        if relative != 'Sources/PARBytes/Threads.swift':
            for number, line in enumerate(code.split('\n'), 1):
                if THREADS.search(line):
                    breaches.append(f'{relative}:{number}: a thread or lock primitive outside Threads.swift')
        source_lines = text.split('\n')
        for number, line in enumerate(code.split('\n'), 1):
            if '@unchecked Sendable' in source_lines[number - 1] and '@unchecked' in line:
                unchecked.append(f'{relative}:{number}')
                above = source_lines[max(0, number - 4):number - 1]
                if not any(l.strip().startswith('//') for l in above):
                    breaches.append(f'{relative}:{number}: @unchecked Sendable without a comment saying why')
        if not relative.startswith('Sources/par/'):
            for number, literal in strings:
                # A variable's bare name is a lookup (environment["PAR_INFLATE"]), not a message.
                body = literal.strip('"')
                if FLAG.search(body) and not re.fullmatch(r'[A-Z_]+', body):
                    breaches.append(f'{relative}:{number}: a library string names a flag or variable: {literal[:80]}')
    if len(unchecked) > 4:
        breaches.append(f'{len(unchecked)} @unchecked Sendable (at most four): ' + ', '.join(unchecked))
    for path in swift_files('Sources', 'Tests', 'Examples', 'Fuzz/Sources'):
        code, _ = code_and_strings(path.read_text())
        breaches.extend(long_functions(path, code))
    for breach in breaches:
        print(f'check-structure: {breach}', file=sys.stderr)
    if breaches:
        return 1
    print(f'check-structure: {len(importers)} files import libc, {len(unchecked)} @unchecked Sendable, '
          'threads in Threads.swift only, no function over 60 lines, no flag in a library string')
    return 0


if __name__ == '__main__':
    sys.exit(main())
