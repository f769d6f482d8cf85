import Foundation
import PARTestSupport
import PARBytes
import PARClaims
import PARNKeys
import ProviderArchiveKit
import Testing

/// `par push` and `par pull` as a user runs them, against a real registry on loopback.
@Suite struct RegistryCommandTests {
    @Test func pushPullInspectAndVerifyByReference() throws {
        let registry = try LocalRegistry.anonymous.get()
        let work = try Workspace()
        try work.write(pattern(300_000), to: "provider")
        #expect(try work.par(["create", "-n", "Pushed", "-v", "v", "--version", "1.2.3", "-b", "provider", "--compress"]).status == 0)
        let reference = "\(registry.address)/providers/cli:1.2.3"

        let pushed = try work.par(["push", reference, "provider.par.gz", "--insecure", "-o", "json", "--annotation", "team=edge"])
        #expect(pushed.status == 0, "\(pushed.error)")
        let json = try JSONValue(parsing: Array(pushed.output.utf8))
        #expect(json["tag"] == .string("1.2.3"))
        guard case .string(let digest)? = json["digest"] else {
            Issue.record("no digest in \(pushed.output)")
            return
        }

        let pulled = try work.par(["pull", reference, "--insecure", "--digest", digest])
        #expect(pulled.status == 0, "\(pulled.error)")
        #expect(try work.read("cli.par.gz") == work.read("provider.par.gz"))
        let check = try ExternalTools.runParcheck(["verify", work.path("cli.par.gz"), "--name", "Pushed", "--ver", "1.2.3"])
        #expect(check.status == 0, "\(check.output)")

        #expect(try work.par(["verify", reference, "--insecure"]).output.contains("valid"))
        #expect(try work.par(["inspect", reference, "--insecure"]).output.contains("Pushed - Provider Archive"))

        expectFailure(try work.par(["push", "\(registry.address)/providers/cli:latest", "provider.par.gz", "--insecure"]), saying: "--allow-latest")
        expectFailure(try work.par(["pull", "\(registry.address)/providers/cli:9.9.9", "--insecure"]), saying: "not found")
        expectFailure(try work.par(["pull", reference, "--insecure", "--digest", String(repeating: "0", count: 64)]), saying: "digest")
        expectFailure(try work.par(["pull", reference]), saying: "--insecure")
        expectUsageError(try work.par(["push", "not a reference", "provider.par.gz"]), saying: "not a registry reference")
    }

    /// A pull verifies the archive as it downloads, and never reads the file back: with
    /// relatime, a file read after its last write gets an access time at or after its
    /// modification time; one never read keeps the access time of its creation.
    @Test func pullReadsTheArchiveOnceAsItArrives() throws {
        let registry = try LocalRegistry.anonymous.get()
        let work = try Workspace()
        // Calibrate: this file system updates access times on a read after a write.
        try work.write(pattern(1000), to: "probe")
        Thread.sleep(forTimeInterval: 0.05)
        let probe = try FileHandle(forWritingTo: URL(fileURLWithPath: work.path("probe")))
        try probe.seekToEnd()
        try probe.write(contentsOf: Data([1]))
        try probe.close()
        _ = try work.read("probe")
        let probed = try times(work.path("probe"))
        guard probed.access >= probed.modification else {
            throw ToolMissing(message: "this file system does not update access times (noatime): the single-read check needs relatime")
        }
        let noise = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom")).read(upToCount: 20_000_000) ?? Data()
        try work.write(Array(noise), to: "provider")
        #expect(try work.par(["create", "-n", "once", "-v", "v", "-b", "provider", "--destination", "once.par"]).status == 0)
        let reference = "\(registry.address)/providers/once:1.0.0"
        #expect(try work.par(["push", reference, "once.par", "--insecure"]).status == 0)
        let pulled = try work.par(["pull", reference, "--insecure", "--destination", "pulled.par"])
        #expect(pulled.status == 0, "\(pulled.error)")
        let stamps = try times(work.path("pulled.par"))
        #expect(stamps.access < stamps.modification, "the pulled file was read after it was written")
        #expect(try work.read("pulled.par") == work.read("once.par"))
    }

    /// A file's access and modification times, in nanoseconds.
    private func times(_ path: String) throws -> (access: Int, modification: Int) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw ToolMissing(message: "cannot stat \(path)") }
        return (
            status.st_atim.tv_sec * 1_000_000_000 + status.st_atim.tv_nsec,
            status.st_mtim.tv_sec * 1_000_000_000 + status.st_mtim.tv_nsec
        )
    }

    @Test func wrongCredentialsAreRefused() throws {
        let registry = try LocalRegistry.withPassword.get()
        let work = try Workspace()
        try work.write(pattern(1000), to: "provider")
        #expect(try work.par(["create", "-n", "p", "-v", "v", "-b", "provider"]).status == 0)
        let reference = "\(registry.address)/providers/cli-auth:1.0.0"
        expectFailure(try work.par(["push", reference, "provider.par", "--insecure"]), saying: "requires credentials")
        expectFailure(try work.par(["push", reference, "provider.par", "--insecure", "-u", "alice", "-p", "bad"]), saying: "refused the credentials")
        let pushed = try work.par(["push", reference, "provider.par", "--insecure"], environment: ["WASH_REG_USER": "alice", "WASH_REG_PASSWORD": "s3cret"])
        #expect(pushed.status == 0, "\(pushed.error)")
    }

    /// Memory does not grow with the archive: pushing and pulling 500 MB stays under 64 MiB
    /// of peak RSS, little more than 20 MB does (holding the archive would add 480 MB).
    @Test func largeTransfersKeepMemoryBounded() throws {
        let registry = try LocalRegistry.anonymous.get()
        let work = try Workspace()
        var peaks: [Int: (push: Int, pull: Int)] = [:]
        for size in [20_000_000, 500_000_000] {
            try work.writeMachineCode(size, to: "big-\(size)")
            #expect(try work.par(["create", "-n", "big", "-v", "v", "-b", "big-\(size)", "--destination", "big-\(size).par"]).status == 0)
            try FileManager.default.removeItem(atPath: work.path("big-\(size)"))
            let reference = "\(registry.address)/providers/big:\(size)"
            let push = try work.peakRSS(["push", reference, work.path("big-\(size).par"), "--insecure"])
            let pull = try work.peakRSS(["pull", reference, "--insecure", "--destination", work.path("pulled-\(size).par")])
            #expect(push.status == 0 && pull.status == 0, "\(push.error) \(pull.error)")
            let same = try ExternalTools.run(["cmp", work.path("pulled-\(size).par"), work.path("big-\(size).par")])
            #expect(same.status == 0)
            peaks[size] = (push.rss, pull.rss)
            try FileManager.default.removeItem(atPath: work.path("pulled-\(size).par"))
            try FileManager.default.removeItem(atPath: work.path("big-\(size).par"))
        }
        let small = try #require(peaks[20_000_000])
        let large = try #require(peaks[500_000_000])
        #expect(large.push < small.push + 24 << 20, "push peak RSS: \(small.push >> 20) MiB for 20 MB, \(large.push >> 20) MiB for 500 MB")
        #expect(large.pull < small.pull + 24 << 20, "pull peak RSS: \(small.pull >> 20) MiB for 20 MB, \(large.pull >> 20) MiB for 500 MB")
        #expect(large.push < 64 << 20 && large.pull < 64 << 20, "push \(large.push >> 20) MiB, pull \(large.pull >> 20) MiB")
    }
}
