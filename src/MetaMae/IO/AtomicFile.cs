using System.Text;

using MetaMae.Training;

namespace MetaMae.IO;

/// <summary>
/// Write to a temporary file in the same folder, flush to disk, then rename over the target. A failed
/// write (disk full, permission denied, read-only) leaves the target as it was, removes the temporary
/// file and throws an OutputWriteException naming the target and the errno's meaning.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            Directory.CreateDirectory(dir);
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw OutputWriteException.From(path, e);
        }
        finally
        {
            try { if (File.Exists(tmp)) File.Delete(tmp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // the write's error is the one to report
        }
    }

    public static void WriteText(string path, string text) =>
        Write(path, s => { var b = Encoding.UTF8.GetBytes(text); s.Write(b); });

    /// <summary>A copy of the file from, written atomically at path.</summary>
    public static void Copy(string from, string path) =>
        Write(path, s => { using var src = File.OpenRead(from); src.CopyTo(s); });
}
