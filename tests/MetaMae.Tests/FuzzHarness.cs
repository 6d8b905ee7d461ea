using Xunit.Abstractions;

namespace MetaMae.Tests;

/// <summary>
/// Seeded mutation of a valid file: each case is written to the reader's path and loaded on its own thread
/// under a time limit. A case must load, or throw the one expected exception type with a message naming
/// the file; anything else (another exception type, a hang) fails the test with the case's seed and kind.
/// </summary>
internal static class FuzzHarness
{
    /// <summary>Ways a file gets damaged: flipped bits, overwritten bytes, truncation, insertion, deletion.</summary>
    public static (byte[] Bytes, string Kind) Mutate(byte[] fixture, Random rng)
    {
        var b = (byte[])fixture.Clone();
        switch (rng.Next(6))
        {
            case 0:
                b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return (b, "bit flip");
            case 1:
                for (int k = 0, n = 1 + rng.Next(4); k < n; k++) b[rng.Next(b.Length)] = (byte)rng.Next(256);
                return (b, "bytes overwritten");
            case 2:
                return (b[..rng.Next(b.Length)], "truncated");
            case 3:
            {
                int at = rng.Next(b.Length + 1);
                return ([.. b[..at], .. Enumerable.Range(0, 1 + rng.Next(8)).Select(_ => (byte)rng.Next(256)), .. b[at..]], "bytes inserted");
            }
            case 4:
            {
                int at = rng.Next(b.Length), len = rng.Next(1, 16);
                return ([.. b[..at], .. b[Math.Min(b.Length, at + len)..]], "span deleted");
            }
            default:
            {
                // printable noise: keeps text formats parseable longer, so the deeper checks are reached
                const string noise = "0123456789-.,e\n\"{}[]:x ";
                for (int k = 0, n = 1 + rng.Next(4); k < n; k++) b[rng.Next(b.Length)] = (byte)noise[rng.Next(noise.Length)];
                return (b, "text noise");
            }
        }
    }

    public sealed record Counts(string Name, int Loaded, int Rejected, int Unchanged)
    {
        public override string ToString() => $"{Name}: {Loaded + Rejected + Unchanged} cases, {Loaded} loaded, {Rejected} rejected";
    }

    /// <summary>
    /// Runs n seeded mutations of fixture through load; TError is the one exception type allowed, and its message
    /// must name the damaged file (or, for an error across files, such as a class missing from one split, its folder).
    /// With mustReject every changed file must be rejected, except those equivalent(bytes) says are the same content.
    /// </summary>
    public static Counts Run<TError>(ITestOutputHelper? output, string name, byte[] fixture, string path, Action load, int n,
        double secondsPerCase = 10, bool mustReject = false, Func<byte[], bool>? equivalent = null) where TError : Exception
    {
        var rng = new Random(name.Aggregate(17, (h, c) => h * 31 + c));
        int loaded = 0, rejected = 0, unchanged = 0;
        for (int i = 0; i < n; i++)
        {
            var (b, kind) = Mutate(fixture, rng);
            if (b.AsSpan().SequenceEqual(fixture) || equivalent?.Invoke(b) == true) { unchanged++; continue; }
            File.WriteAllBytes(path, b);
            Exception? error = null;
            var t = new Thread(() => { try { load(); } catch (Exception e) { error = e; } }) { IsBackground = true };
            t.Start();
            if (!t.Join(TimeSpan.FromSeconds(secondsPerCase)))
                Assert.Fail($"{name} case {i} ({kind}): still running after {secondsPerCase} s (a hang)");
            switch (error)
            {
                case null when mustReject:
                    Assert.Fail($"{name} case {i} ({kind}): the damaged file loaded without an error");
                    break;
                case null:
                    loaded++;
                    break;
                case TError when error.Message.Contains(Path.GetFileName(path)) || error.Message.Contains(Path.GetDirectoryName(path)!):
                    rejected++;
                    break;
                case TError:
                    Assert.Fail($"{name} case {i} ({kind}): the error does not name the file {Path.GetFileName(path)}: {error.Message}");
                    break;
                default:
                    Assert.Fail($"{name} case {i} ({kind}): {error.GetType().Name} instead of {typeof(TError).Name}: {error.Message}");
                    break;
            }
        }
        var counts = new Counts(name, loaded, rejected, unchanged);
        output?.WriteLine(counts.ToString());
        Console.WriteLine(counts.ToString());
        if (n >= 1000) Assert.True(rejected > 0, $"{name}: no mutation was rejected (the harness reached nothing)");
        return counts;
    }
}

/// <summary>
/// The big seeded fuzz (Category=Fuzz): skipped, with the reason, unless METAMAE_FUZZ=1, so the default
/// `dotnet test` stays within its time budget. Run it: METAMAE_FUZZ=1 dotnet test tests/MetaMae.Tests -c Release --filter Category=Fuzz
/// </summary>
public sealed class FuzzFactAttribute : FactAttribute
{
    public FuzzFactAttribute() { if (!FuzzTheoryAttribute.Enabled) Skip = FuzzTheoryAttribute.Why; }
}

/// <inheritdoc cref="FuzzFactAttribute"/>
public sealed class FuzzTheoryAttribute : TheoryAttribute
{
    public static bool Enabled => Environment.GetEnvironmentVariable("METAMAE_FUZZ") == "1";
    public const string Why = "the big fuzz runs with: METAMAE_FUZZ=1 dotnet test tests/MetaMae.Tests -c Release --filter Category=Fuzz";

    public FuzzTheoryAttribute() { if (!Enabled) Skip = Why; }
}
