using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Runtime;

/// <summary>
/// CPU math settings of the process: the thread count and which kernels libtorch's bundled MKL
/// runs. MKL picks its SIMD kernels from CPUID, but on a CPU whose vendor string is not
/// "GenuineIntel" it ignores AVX-512 and runs its AVX2 kernels: on this project's AMD Zen 5
/// machine that halves the float32 matmul peak (172 against 387 GFLOP/s with 2 threads, measured
/// by <c>metamae bench</c>). MKL answers the vendor question once, in
/// <c>mkl_serv_intel_cpu_true()</c>, which caches its answer in a static int. Setting that
/// cache to 1 before MKL's first call makes MKL choose kernels by the CPU's feature bits alone,
/// as OpenBLAS and oneDNN already do. Nothing on disk changes; a CPU without AVX-512 still
/// gets AVX2 kernels (MKL checks the feature bits), and on an Intel CPU this changes nothing.
/// Set METAMAE_MKL_VENDOR_CHECK=keep to leave MKL as it is.
///
/// Second setting: glibc malloc keeps freed memory. glibc serves every block of 32 MiB or more
/// (an attention map of a batch, an MLP activation) with a fresh mmap and unmaps it on free, so
/// the next step touches brand-new pages; this VM pays ~11 us per 4 KiB page fault. One encoder
/// block at batch 256 took 83 ms without page faults and 100-260 ms with them (default malloc).
/// With mmap off for allocations (M_MMAP_MAX 0) and trimming at 2 GiB (M_TRIM_THRESHOLD), freed
/// blocks are reused: resident memory settles at the step's high-water mark instead of being
/// given back and faulted in again. Set METAMAE_MALLOC=system to leave malloc as it is; a
/// preloaded jemalloc or tcmalloc is left alone.
///
/// Third setting: how OpenMP threads wait, chosen from the cores free at start. libtorch's bundled libgomp
/// lets an idle worker spin (300,000 rounds by default) before it sleeps. Beside another busy process those
/// spins take the cores the other's threads need (a 2-thread step beside a busy process was measured 7x
/// slower than a 1-thread step, issue 14); on an idle machine sleeping costs a futex wake-up at every
/// parallel region instead, and a step is made of thousands of small ones (the small preset's MetaMAE
/// step: 250-260 ms sleeping, 187-194 ms after 1,000 spins, 2026-12-03). So, unless the user set
/// OMP_WAIT_POLICY or GOMP_SPINCOUNT, METAMAE_OMP_WAIT decides: <c>auto</c> (default) samples /proc/stat
/// for <see cref="SampleMs"/> ms and spins (GOMP_SPINCOUNT=<see cref="SpinCount"/>) when other processes
/// use less than <see cref="BusyCores"/> of a core, else sleeps (OMP_WAIT_POLICY=PASSIVE); <c>spin</c> and
/// <c>passive</c> choose without sampling. The variable goes into the process environment (libc setenv:
/// .NET's own SetEnvironmentVariable is invisible to native getenv) before libtorch, and with it libgomp,
/// is loaded: libgomp reads it once, in its constructor. Neither changes a number, only the waiting.
/// <c>OMP_DISPLAY_ENV=TRUE metamae datasets</c> prints what libgomp took.
/// </summary>
public static class CpuMath
{
    private static readonly Lock Gate = new();
    private static string? mklState;
    private static string? mallocState;
    private static string? waitState;

    /// <summary>Spins of a waiting OpenMP worker before it sleeps, when the cores are free (see the class comment):
    /// 1,000 keeps most of the spinning's gain (a 3,000-spin step was 12% faster still) and held two runs started
    /// together at 2.2-2.3x their solo step, where 3,000 spins gave 3.4x and libgomp's 300,000 3.1-4.2x.</summary>
    public const int SpinCount = 1000;

    /// <summary>Other processes' CPU use, in cores, from which the workers sleep instead of spinning.</summary>
    public const double BusyCores = 0.5;

    /// <summary>How long METAMAE_OMP_WAIT=auto samples /proc/stat at start.</summary>
    public const int SampleMs = 200;

    /// <summary>What <see cref="EnsureOpenMpWaitPolicy"/> did: "spin: ..." or "passive: ..." (set, with the reason),
    /// "user" (OMP_WAIT_POLICY or GOMP_SPINCOUNT given, left alone), or "unchanged: why".</summary>
    public static string WaitPolicyState { get { lock (Gate) return waitState ?? "not configured"; } }

    /// <summary>What <see cref="Configure"/> did to malloc: "retain" (glibc keeps freed memory), "system" (opted out),
    /// "jemalloc"/"tcmalloc" (preloaded, left alone), or "unchanged: why".</summary>
    public static string MallocState { get { lock (Gate) return mallocState ?? "not configured"; } }

    /// <summary>What <see cref="Configure"/> did to MKL's kernel choice: "feature-bits" (vendor check bypassed),
    /// "intel" (nothing to do), "kept" (opted out), or "unchanged: why".</summary>
    public static string MklState { get { lock (Gate) return mklState ?? "not configured"; } }

    /// <summary>Applies the MKL kernel choice (once per process, before any matmul) and sets libtorch's thread count.</summary>
    public static void Configure(int threads)
    {
        if (threads < 1) throw new ArgumentException($"--threads must be >= 1 (got {threads})");
        EnsureOpenMpWaitPolicy();
        EnsureMallocRetains();
        EnsureMklKernels();
        set_num_threads(threads);
    }

    /// <summary>Bypasses MKL's vendor check (see the class comment); idempotent. Returns <see cref="MklState"/>.</summary>
    public static string EnsureMklKernels()
    {
        EnsureOpenMpWaitPolicy();    // before Apply loads libtorch (and libgomp)
        lock (Gate)
        {
            mklState ??= Apply();
            return mklState;
        }
    }

    /// <summary>Makes glibc malloc keep freed memory (see the class comment); idempotent. Returns <see cref="MallocState"/>.</summary>
    public static string EnsureMallocRetains()
    {
        lock (Gate)
        {
            mallocState ??= ApplyMalloc();
            return mallocState;
        }
    }

    /// <summary>Sets how OpenMP workers wait before libgomp loads (see the class comment); idempotent.
    /// Returns <see cref="WaitPolicyState"/>.</summary>
    public static string EnsureOpenMpWaitPolicy()
    {
        lock (Gate)
        {
            waitState ??= ApplyWaitPolicy();
            return waitState;
        }
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    private static string ApplyWaitPolicy()
    {
        var mode = Environment.GetEnvironmentVariable("METAMAE_OMP_WAIT");
        if (string.IsNullOrEmpty(mode)) mode = "auto";
        if (mode is not ("auto" or "spin" or "passive"))
            throw new ArgumentException($"environment variable METAMAE_OMP_WAIT='{mode}': expected auto (the default), " +
                                        "spin or passive, or leave it unset");
        foreach (var v in new[] { "OMP_WAIT_POLICY", "GOMP_SPINCOUNT" })
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v))) return "user";
        if (!OperatingSystem.IsLinux()) return "unchanged: not Linux";
        if (File.Exists("/proc/self/maps") && File.ReadAllText("/proc/self/maps").Contains("libgomp"))
            return "unchanged: OpenMP was loaded before the setting";
        string reason = mode;
        if (mode == "auto")
        {
            var others = OtherProcessesCores(SampleMs);
            mode = others is double c && c < BusyCores ? "spin" : "passive";
            reason = others is double o ? $"other processes used {o:F1} cores at start" : "cannot read /proc/stat";
        }
        var (name, value) = mode == "spin" ? ("GOMP_SPINCOUNT", SpinCount.ToString()) : ("OMP_WAIT_POLICY", "PASSIVE");
        if (SetEnv(name, value, 0) != 0) return "unchanged: setenv failed";
        Environment.SetEnvironmentVariable(name, value);   // the managed view (and child processes) agree
        return $"{mode}: {reason}";
    }

    /// <summary>The CPU time other processes used over the next <paramref name="ms"/> ms, in cores (busy jiffies of
    /// the machine, from /proc/stat, less this process's own, from /proc/self/stat); null where they cannot be read.</summary>
    public static double? OtherProcessesCores(int ms)
    {
        try
        {
            var (busy0, total0) = CpuJiffies(File.ReadAllText("/proc/stat"));
            var self0 = OwnJiffies(File.ReadAllText("/proc/self/stat"));
            Thread.Sleep(ms);
            var (busy1, total1) = CpuJiffies(File.ReadAllText("/proc/stat"));
            var self1 = OwnJiffies(File.ReadAllText("/proc/self/stat"));
            long wall = (total1 - total0) / Environment.ProcessorCount;   // jiffies of one core over the window
            return wall <= 0 ? 0 : Math.Max(0, (double)(busy1 - busy0 - (self1 - self0)) / wall);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Busy and total jiffies of all cores from the "cpu " line of a /proc/stat text (busy = total less idle
    /// and iowait). A text without that line is a FormatException.</summary>
    public static (long Busy, long Total) CpuJiffies(string procStat)
    {
        var line = procStat.Split('\n').FirstOrDefault(l => l.StartsWith("cpu "))
            ?? throw new FormatException("/proc/stat has no 'cpu ' line");
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
        if (f.Length < 5) throw new FormatException($"/proc/stat 'cpu ' line has {f.Length} fields, expected >= 5");
        long total = f.Sum();
        return (total - f[3] - f[4], total);
    }

    /// <summary>utime + stime (jiffies) of a /proc/PID/stat text: fields 14 and 15, counted after the ')' that ends
    /// the command name (which may itself hold spaces).</summary>
    public static long OwnJiffies(string procPidStat)
    {
        var f = procPidStat[(procPidStat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(f[11]) + long.Parse(f[12]);   // fields 14, 15 are the 12th and 13th after the state (3)
    }

    /// <summary>An opt-out variable's value: unset or empty means the default; anything but the two names is an error,
    /// not a silent default.</summary>
    private static string? Setting(string name, string optOut, string dflt)
    {
        var v = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(v) || v == dflt) return dflt;
        if (v == optOut) return optOut;
        throw new ArgumentException($"environment variable {name}='{v}': expected '{optOut}' (turn the setting off) " +
            $"or '{dflt}' (the default), or leave it unset");
    }

    private const int M_TRIM_THRESHOLD = -1, M_MMAP_MAX = -4;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int param, int value);

    [DllImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static extern IntPtr GnuLibcVersion();

    private static string ApplyMalloc()
    {
        if (Setting("METAMAE_MALLOC", "system", "retain") == "system") return "system";
        var preload = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "";
        if (preload.Contains("jemalloc")) return "jemalloc";
        if (preload.Contains("tcmalloc")) return "tcmalloc";
        if (!OperatingSystem.IsLinux()) return "unchanged: not Linux";
        try { _ = GnuLibcVersion(); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return "unchanged: not glibc"; }
        return MallOpt(M_MMAP_MAX, 0) == 1 && MallOpt(M_TRIM_THRESHOLD, int.MaxValue) == 1 ? "retain" : "unchanged: mallopt refused";
    }

    private static unsafe string Apply()
    {
        if (Setting("METAMAE_MKL_VENDOR_CHECK", "keep", "bypass") == "keep") return "kept";
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return "unchanged: not x64 Linux";
        // TorchSharp loads libtorch on first use; load it without running any MKL routine
        if (!TryInitializeDeviceType(DeviceType.CPU)) return "unchanged: libtorch not loaded";
        if (!NativeLibrary.TryLoad("libtorch_cpu.so", out var lib)) return "unchanged: libtorch_cpu.so not found";
        if (!NativeLibrary.TryGetExport(lib, "mkl_serv_intel_cpu_true", out var fn)) return "unchanged: no MKL in libtorch_cpu.so";
        // expected start of the function: mov eax, [rip+rel32] (8B 05 rel32); test eax, eax (85 C0); js (78)
        byte* code = (byte*)fn;
        if (code[0] != 0x8B || code[1] != 0x05 || code[6] != 0x85 || code[7] != 0xC0 || code[8] != 0x78)
            return "unchanged: unknown MKL build (mkl_serv_intel_cpu_true does not start with its cache load)";
        int* cache = (int*)(code + 6 + *(int*)(code + 2));
        var isIntel = (delegate* unmanaged<int>)fn;
        if (*cache >= 0) return *cache == 1 ? "intel" : "unchanged: MKL ran before the bypass";
        if (isIntel() == 1) return "intel";
        *cache = 1;
        return isIntel() == 1 ? "feature-bits" : "unchanged: the cache write did not take";
    }
}
