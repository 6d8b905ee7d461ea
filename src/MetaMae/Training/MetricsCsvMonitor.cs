using System.Globalization;
using MetaMae.Model;
using MetaMae.Objectives;
using MetaMae.IO;

namespace MetaMae.Training;

/// <summary>
/// A run's metrics.csv: the header, then one row per optimizer step, appended. Flushed before each checkpoint,
/// so the file holds every step the checkpoint holds; the rows a killed run logged past its last checkpoint are
/// dropped by Trim when it resumes. A failed write throws OutputWriteException naming the file.
/// </summary>
internal sealed class MetricsCsvMonitor(string path) : ITrainingMonitor, IDisposable
{
    /// <summary>Columns of metrics.csv; latent_change, inner_gain, contrast_share and second_order_share are filled on
    /// logging steps of MetaMAE only; contrast_floor (the lowest NT-Xent the batch allows,
    /// <see cref="Losses.NtXentFloor"/>) on every step of a run with a contrast term (issue 34).</summary>
    public const string Header = "step,loss,reconstruction,contrast,inner,seconds,latent_change,inner_gain," +
        "contrast_floor,contrast_share,second_order_share";

    private TextWriter? writer;
    private double floor = double.NaN;

    private TextWriter Writer => writer ?? throw new InvalidOperationException($"{path} is opened by OnStart");

    public void OnStart(RunConfig config, int startStep, string message)
    {
        floor = config.Objective.Adapt && config.Objective.Lambda > 0
            ? Losses.NtXentFloor(config.Train.Batch, config.Objective.Temperature) : double.NaN;
        OutputWriteException.Guard(path, () => writer = new AppendWriter(path));
        if (new FileInfo(path).Length == 0)
            OutputWriteException.Guard(path, () => Writer.WriteLine(Header));
    }

    public void OnStepDone(StepMetrics m, MetaMaeModel model) =>
        OutputWriteException.Guard(path, () => Writer.WriteLine(string.Join(",",
            m.Step.ToString(CultureInfo.InvariantCulture), R(m.Loss), R(m.Reconstruction), R(m.Contrast), R(m.Inner),
            m.Seconds.ToString("F3", CultureInfo.InvariantCulture), R(m.LatentChange), R(m.InnerGain),
            double.IsNaN(m.Contrast) ? "" : R(floor), R(m.ContrastShare), R(m.SecondOrderShare))));

    public void Flush()
    {
        if (writer is not null) OutputWriteException.Guard(path, writer.Flush);
    }

    public void Dispose() => writer?.Dispose();

    private static string R(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The suffix of a finished run's metrics.csv kept compressed (<see cref="Compress"/>).</summary>
    public const string GzipSuffix = ".gz";

    /// <summary>
    /// Keeps the metrics.csv rows up to step `upTo` (a killed run may have logged past its last checkpoint)
    /// and returns their (step, loss). Rows of a file written before a column existed get that column empty,
    /// so every row has every column. A run kept compressed (metrics.csv.gz, no metrics.csv) is read from it and
    /// continues in a plain metrics.csv; the compressed copy is removed once the plain one is written.
    /// </summary>
    public static List<(int Step, double Loss)> Trim(string path, int upTo)
    {
        var kept = new List<string>();
        var losses = new List<(int, double)>();
        int columns = Header.Split(',').Length;
        var gz = path + GzipSuffix;
        bool compressed = !File.Exists(path) && File.Exists(gz);
        if (File.Exists(path) || compressed)
        {
            foreach (var line in (compressed ? ReadGzipLines(gz) : File.ReadLines(path)).Skip(1))
            {
                var f = line.Split(',');
                if (f.Length < 2 || !int.TryParse(f[0], out var st) || st > upTo) continue;
                kept.Add(line + new string(',', Math.Max(0, columns - f.Length)));
                losses.Add((st, double.Parse(f[1], CultureInfo.InvariantCulture)));
            }
        }
        if (upTo == 0) kept.Clear();
        AtomicFile.WriteText(path, Header + "\n" + string.Concat(kept.Select(k => k + "\n")));
        if (compressed) File.Delete(gz);
        return upTo == 0 ? [] : losses;
    }

    /// <summary>Replaces a finished run's metrics.csv by metrics.csv.gz (gzip, written atomically; the plain file is
    /// removed after): a finished campaign's per-step logs take a third of the space. <see cref="Trim"/> reads it back
    /// when the run goes on. Nothing happens when there is no metrics.csv.</summary>
    public static void Compress(string path)
    {
        if (!File.Exists(path)) return;
        AtomicFile.Write(path + GzipSuffix, s =>
        {
            using var z = new System.IO.Compression.GZipStream(s, System.IO.Compression.CompressionLevel.SmallestSize,
                leaveOpen: true);
            using var f = File.OpenRead(path);
            f.CopyTo(z);
        });
        File.Delete(path);
    }

    private static IEnumerable<string> ReadGzipLines(string path)
    {
        using var z = new System.IO.Compression.GZipStream(File.OpenRead(path),
            System.IO.Compression.CompressionMode.Decompress);
        using var r = new StreamReader(z);
        while (r.ReadLine() is { } line) yield return line;
    }
}
