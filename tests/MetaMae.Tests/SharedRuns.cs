namespace MetaMae.Tests;

/// <summary>
/// CLI runs that several tests read: each `metamae run` is a process that trains and probes three encoders (~10 s), so
/// tests that only read its output share one run instead of repeating it.
/// </summary>
internal static class SharedRuns
{
    private static readonly Lazy<(int Code, string Out, string Err, string Dir)> tinyDnaSplice = new(() =>
    {
        var dir = Tmp.Dir("shared-run");
        var (code, stdout, err) = CliTests.Metamae("run", "--dataset", "dna-splice", "--preset", "tiny", "--steps", "3",
            "--batch", "16", "--label-fraction", "0.1,1", "--out", dir, "--threads", "2", "--json");
        return (code, stdout, err, dir);
    });

    /// <summary>`metamae run --dataset dna-splice --preset tiny --steps 3 --batch 16 --label-fraction 0.1,1 --json` (the
    /// converged probe, the default) into its own folder: its exit code, stdout, stderr and folder.</summary>
    internal static (int Code, string Out, string Err, string Dir) TinyDnaSplice => tinyDnaSplice.Value;
}
