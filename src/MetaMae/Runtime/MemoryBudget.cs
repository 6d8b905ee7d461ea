using System.Globalization;

namespace MetaMae.Runtime;

/// <summary>
/// How much memory this process may still take before the kernel kills it: the least of /proc/meminfo's MemAvailable
/// and, where the process sits in a memory cgroup with a limit (v1: memory.limit_in_bytes - memory.usage_in_bytes; v2:
/// memory.max - memory.current), what that limit leaves. METAMAE_AVAILABLE_MEMORY_MB overrides it (tests, or a user
/// who wants a run to stay under a share of the machine). Read anew at each call.
/// </summary>
public static class MemoryBudget
{
    /// <summary>The variable that overrides the measured figure (whole MiB).</summary>
    public const string OverrideVariable = "METAMAE_AVAILABLE_MEMORY_MB";

    /// <summary>Bytes this process may still allocate, or null when nothing can be read (not Linux).</summary>
    public static long? AvailableBytes()
    {
        var o = Environment.GetEnvironmentVariable(OverrideVariable);
        if (!string.IsNullOrEmpty(o))
            return long.TryParse(o, NumberStyles.None, CultureInfo.InvariantCulture, out long mb) ? mb << 20
                : throw new ArgumentException($"{OverrideVariable} must be a whole number of MiB (got '{o}')");
        long? best = MemAvailable();
        foreach (var left in CgroupLeft())
            if (left is long l && (best is null || l < best)) best = l;
        return best;
    }

    /// <summary>"3.1 GB" style: bytes in decimal gigabytes with one decimal, or megabytes below 1 GB.</summary>
    public static string Format(long bytes) => bytes >= 1_000_000_000
        ? (bytes / 1e9).ToString("0.0", CultureInfo.InvariantCulture) + " GB"
        : (bytes / 1e6).ToString("0", CultureInfo.InvariantCulture) + " MB";

    private static long? MemAvailable() => KbField("/proc/meminfo", "MemAvailable");

    /// <summary>This process's resident set now and its peak (VmRSS, VmHWM of /proc/self/status) in bytes; null where
    /// they cannot be read (not Linux).</summary>
    public static (long Rss, long Peak)? Resident()
    {
        var rss = KbField("/proc/self/status", "VmRSS");
        var peak = KbField("/proc/self/status", "VmHWM");
        return rss is long r ? (r, peak ?? r) : null;
    }

    /// <summary>Resets this process's peak resident set to its current size (Linux: "5" to /proc/self/clear_refs);
    /// false where that is not possible.</summary>
    public static bool ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    /// <summary>Returns the memory glibc keeps after frees to the system (malloc_trim), so a later peak is its own.</summary>
    public static void Trim()
    {
        try { MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    /// <summary>The value of a "Key:   123 kB" line of a /proc file, in bytes; null if absent or unreadable.</summary>
    private static long? KbField(string path, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
                if (line.StartsWith(key + ":", StringComparison.Ordinal))
                    return 1024 * long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return null;
    }

    /// <summary>What each memory cgroup of this process (v1 and v2) leaves under its limit; null for no limit.</summary>
    private static IEnumerable<long?> CgroupLeft()
    {
        string[] lines;
        try { lines = File.ReadAllLines("/proc/self/cgroup"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { yield break; }
        foreach (var line in lines)
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3) continue;
            var path = parts[2].TrimStart('/');
            if (parts[1].Split(',').Contains("memory"))                                          // v1
                yield return Left(Path.Combine("/sys/fs/cgroup/memory", path), "memory.limit_in_bytes", "memory.usage_in_bytes");
            else if (parts[0] == "0" && parts[1] == "")                                           // v2 (unified)
                yield return Left(Path.Combine("/sys/fs/cgroup", path), "memory.max", "memory.current");
        }
    }

    private static long? Left(string dir, string limitFile, string usageFile)
    {
        try
        {
            var limitText = File.ReadAllText(Path.Combine(dir, limitFile)).Trim();
            if (limitText == "max" || !long.TryParse(limitText, CultureInfo.InvariantCulture, out long limit)) return null;
            if (limit >= 1L << 60) return null;                                                    // v1's "no limit"
            long usage = long.Parse(File.ReadAllText(Path.Combine(dir, usageFile)).Trim(), CultureInfo.InvariantCulture);
            return Math.Max(0, limit - usage);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return null; }
    }

    /// <summary>
    /// Throws an ArgumentException (what a CLI turns into "error: ..." and exit 2) when an estimate of the bytes an action
    /// needs exceeds what is available; what: the action ("the probe's fit on 1,700 x 977,000 raw features"); fixes: the
    /// flags or changes that would make it fit. Does nothing where the figure cannot be read.
    /// </summary>
    public static void Ensure(long neededBytes, string what, string fixes)
    {
        if (AvailableBytes() is not long available || neededBytes <= available) return;
        throw new ArgumentException($"{what} needs about {Format(neededBytes)} of memory, more than the {Format(available)} " +
                                    $"available; {fixes}");
    }
}
