import Foundation

/// Raw manifest reads and writes, for tests that put what no honest client pushes (hostile
/// indexes) into the real registry: Python's urllib speaks the distribution API directly.
extension LocalRegistry {
    /// The manifest or index under a tag or digest, as the registry holds it.
    public func manifest(_ repository: String, _ reference: String) throws -> [UInt8] {
        let script = """
            import sys, urllib.request
            accept = ", ".join(["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"])
            request = urllib.request.Request(sys.argv[1], headers={"Accept": accept})
            sys.stdout.buffer.write(urllib.request.urlopen(request).read())
            """
        let result = try ExternalTools.run(["python3", "-c", script, "http://\(address)/v2/\(repository)/manifests/\(reference)"])
        guard result.status == 0 else { throw ToolMissing(message: "GET manifest failed: \(result.error)") }
        return result.outputBytes
    }

    /// Puts `bytes` under a tag or digest with this media type; the registry checks that
    /// everything an index lists exists in the repository.
    public func putManifest(_ bytes: [UInt8], _ repository: String, _ reference: String, mediaType: String) throws {
        let script = """
            import sys, urllib.request
            request = urllib.request.Request(sys.argv[1], data=sys.stdin.buffer.read(), method="PUT",
                                             headers={"Content-Type": sys.argv[2]})
            urllib.request.urlopen(request).read()
            """
        let result = try ExternalTools.run(
            ["python3", "-c", script, "http://\(address)/v2/\(repository)/manifests/\(reference)", mediaType], input: bytes)
        guard result.status == 0 else { throw ToolMissing(message: "PUT manifest failed: \(result.error)") }
    }

    /// Bytes the registry sent in answers to GET requests logged after line `after` of
    /// ``log`` (a dedicated registry's), with each request's path.
    public func sentBytes(afterLine after: Int) throws -> [(path: String, bytes: Int)] {
        try loggedRequests().dropFirst(after).compactMap { line in
            // 127.0.0.1 - - [date] "GET /v2/... HTTP/1.1" 200 1151 "" ""
            let quoted = line.split(separator: "\"", omittingEmptySubsequences: false)
            guard quoted.count >= 3, quoted[1].hasPrefix("GET ") else { return nil }
            let request = quoted[1].split(separator: " ")
            let status = quoted[2].split(separator: " ")
            guard request.count >= 2, status.count >= 2, let bytes = Int(status[1]) else { return nil }
            return (String(request[1]), bytes)
        }
    }

    /// The access log's request lines so far.
    public func loggedRequests() throws -> [Substring] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.contains("\" ") && $0.contains(" HTTP/1.1\"") }
    }
}
