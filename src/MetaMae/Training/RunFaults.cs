namespace MetaMae.Training;

/// <summary>
/// A run asked to stop (Ctrl-C, SIGTERM: the `stop` token of Pretrainer.Run) stopped at the end of a
/// step. Checkpoint is the file holding step Step (null when no step had finished and none existed).
/// </summary>
public sealed class RunStoppedException(int step, string? checkpoint)
    : OperationCanceledException(checkpoint is null
        ? $"stopped before the first step finished; nothing was saved"
        : $"stopped after step {step}; checkpoint of step {step} -> {checkpoint}")
{
    public int Step { get; } = step;
    public string? Checkpoint { get; } = checkpoint;
}

/// <summary>
/// Writing a run's output failed (disk full, permission denied, read-only file system). The message
/// names the file and the meaning of the errno; earlier files (the previous checkpoint) are intact.
/// </summary>
public sealed class OutputWriteException(string path, string meaning, Exception inner)
    : IOException($"cannot write {path}: {meaning}", inner)
{
    public string FilePath { get; } = path;

    /// <summary>errno values .NET reports as IOException.HResult on Unix, by name.</summary>
    private static readonly Dictionary<int, string> Errno = new()
    {
        [5] = "EIO", [13] = "EACCES", [27] = "EFBIG", [28] = "ENOSPC", [30] = "EROFS", [122] = "EDQUOT",
    };

    /// <summary>Converts a failed write (IOException, UnauthorizedAccessException) into one named error.</summary>
    public static OutputWriteException From(string path, Exception e)
    {
        if (e is OutputWriteException o) return o;
        string meaning = e switch
        {
            UnauthorizedAccessException => "permission denied (EACCES)",
            IOException io when Errno.TryGetValue(io.HResult, out var name) => $"{Strerror(io.Message)} ({name})",
            _ => Strerror(e.Message),
        };
        return new OutputWriteException(path, meaning, e);
    }

    /// <summary>A failed write that nothing guarded, as one line: .NET's message (which names the path) and the errno.</summary>
    public static string Describe(Exception e) => e switch
    {
        UnauthorizedAccessException => $"{e.Message.TrimEnd('.')} (EACCES)",
        IOException io when Errno.TryGetValue(io.HResult, out var name) => $"{e.Message} ({name})",
        _ => e.Message,
    };

    /// <summary>An IOException whose errno is a failure of the disk or folder (full, read-only, quota, I/O), not a lock.</summary>
    public static bool IsWriteFailure(Exception e) => e is IOException io && Errno.ContainsKey(io.HResult);

    /// <summary>Runs a write; a failing one becomes an OutputWriteException naming path.</summary>
    public static void Guard(string path, Action write)
    {
        try { write(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw From(path, e); }
    }

    // .NET's message is "strerror text : 'path'"; the path is named once, by us
    private static string Strerror(string message)
    {
        int at = message.IndexOf(" : '", StringComparison.Ordinal);
        var s = at > 0 ? message[..at] : message;
        return s.Length > 0 ? char.ToLowerInvariant(s[0]) + s[1..] : s;
    }
}

/// <summary>
/// metrics.csv's writer. Its writes and flushes are guarded where they happen; disposing it while an
/// error unwinds must not replace that error with a second "disk full" from the final flush.
/// </summary>
internal sealed class AppendWriter(string path) : StreamWriter(path, append: true)
{
    protected override void Dispose(bool disposing)
    {
        try { base.Dispose(disposing); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // already reported, or nothing left to write
    }
}
