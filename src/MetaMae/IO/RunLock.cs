using MetaMae.Training;

namespace MetaMae.IO;

/// <summary>
/// One run per output folder: an exclusive lock on DIR/run.lock (FileShare.None, i.e. flock on Unix) held
/// while the run lives. The operating system releases it when the process ends, however it ends, so a lock
/// file left by a dead process never blocks a later run. The file (holding the owner's pid) is left in place, except
/// that a folder Acquire created and in which nothing else was written is removed again on Dispose (a run refused
/// before its first write, e.g. for memory, leaves nothing behind).
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string FileName = "run.lock";
    private readonly FileStream stream;
    private readonly string? createdDir;

    private RunLock(FileStream s, string? created)
    {
        stream = s;
        createdDir = created;
    }

    /// <summary>Locks dir (created if needed); a folder another live run holds is an InvalidOperationException.</summary>
    public static RunLock Acquire(string dir)
    {
        bool created = !Directory.Exists(dir);
        OutputWriteException.Guard(dir, () => Directory.CreateDirectory(dir));     // EACCES, EROFS: one named error
        var path = Path.Combine(dir, FileName);
        FileStream s;
        try { s = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (Exception e) when (e is UnauthorizedAccessException || e is IOException && OutputWriteException.IsWriteFailure(e))
        {
            throw OutputWriteException.From(path, e);                               // read-only, full disk: not "in use"
        }
        catch (IOException)
        {
            throw new InvalidOperationException($"{dir} is in use by another run (it holds {path}); " +
                "wait for it to finish or choose another --out");
        }
        OutputWriteException.Guard(path, () =>
        {
            s.SetLength(0);
            using (var w = new StreamWriter(s, leaveOpen: true)) w.Write($"pid {Environment.ProcessId} since {DateTime.UtcNow:O}\n");
            s.Flush();
        });
        return new RunLock(s, created ? dir : null);
    }

    public void Dispose()
    {
        stream.Dispose();
        if (createdDir is null) return;
        try
        {
            if (Directory.EnumerateFileSystemEntries(createdDir).Any(e => Path.GetFileName(e) != FileName)) return;
            File.Delete(Path.Combine(createdDir, FileName));
            Directory.Delete(createdDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // someone else's now: leave it
    }
}
