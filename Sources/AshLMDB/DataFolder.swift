import AshStore
import Foundation

/// The data folder of an LMDB context store: which files belong in it, and
/// the checks made before anything in it is opened.
enum DataFolder {
    /// LMDB's data file.
    static let dataFile = "data.mdb"
    /// LMDB's reader table.
    static let lmdbLockFile = "lock.mdb"
    /// The file whose `flock` keeps a second process out (see ``FolderLock``).
    static let processLockFile = "ash-store.lock"

    private static let ownFiles: Set<String> = [dataFile, lmdbLockFile, processLockFile, WriteAheadLog.fileName]

    /// Creates the folder if it is missing; refuses a path that is not a
    /// folder or a folder that holds anything but our files. Never deletes.
    static func prepare(_ path: String) throws(ContextStoreError) {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw ContextStoreError(
                    .corruptData,
                    "\(path) is a file, not a data folder; give the path of a folder (it may not exist yet)")
            }
        } else {
            do {
                try files.createDirectory(
                    atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ContextStoreError(
                    .unavailable, "cannot create data folder \(path): \(error.localizedDescription)")
            }
        }
        let names: [String]
        do {
            names = try files.contentsOfDirectory(atPath: path)
        } catch {
            throw ContextStoreError(.unavailable, "cannot list data folder \(path): \(error.localizedDescription)")
        }
        let foreign = names.filter { !ownFiles.contains($0) }.sorted()
        guard foreign.isEmpty else {
            let shown = foreign.prefix(5).joined(separator: ", ") + (foreign.count > 5 ? ", …" : "")
            throw ContextStoreError(
                .corruptData,
                "data folder \(path) holds files that are not ASH store files (\(shown)); refusing to use it. "
                    + "Give an empty folder or one this program created; nothing was changed")
        }
    }

    /// The path of `file` in the folder at `folder`.
    static func path(of file: String, in folder: String) -> String {
        folder.hasSuffix("/") ? folder + file : folder + "/" + file
    }

    /// The bytes available to this user on the device holding `folder`.
    static func freeBytes(in folder: String) -> Int? {
        var info = statvfs()
        guard statvfs(folder, &info) == 0 else { return nil }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// The size of the data file in bytes, 0 when it is missing.
    static func dataFileSize(in folder: String) -> Int {
        var info = stat()
        guard stat(path(of: dataFile, in: folder), &info) == 0 else { return 0 }
        return Int(info.st_size)
    }
}
