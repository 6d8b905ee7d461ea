// OnnxEmbed: features of every row of a CSV from an encoder exported by `metamae export --format onnx`, with ONNX
// Runtime alone. Usage: OnnxEmbed MODEL.onnx ROWS.csv OUT.csv [--batch 256] [--threads N]
// ROWS.csv: one sample per line, its raw input flattened row-major (the model's input shape without the batch axis,
// e.g. 52 x 320 = 16,640 values for PAMAP2 windows, channel-major), prepared as the dataset's reader prepares it
// (standardised); a first line that is not numbers is a header and skipped; an empty cell, NA or NaN is missing
// (the graph imputes 0, the training mean). OUT.csv: row, f0..fK-1.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: OnnxEmbed MODEL.onnx ROWS.csv OUT.csv [--batch N] [--threads N]");
    return 2;
}
string modelPath = args[0], rowsPath = args[1], outPath = args[2];
int batch = Option("--batch", 256), threads = Option("--threads", 0);

using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
using var session = new InferenceSession(modelPath, options);
var meta = session.ModelMetadata.CustomMetadataMap;
if (!meta.TryGetValue("format", out var format) || format != "metamae-onnx")
{
    Console.Error.WriteLine($"error: {modelPath}: not a MetaMae encoder (no 'format: metamae-onnx' metadata)");
    return 2;
}
long[] inShape = meta["input_shape"].Split(',').Select(long.Parse).ToArray();      // -1 = batch
bool ids = meta["input_dtype"] == "int64";
long width = inShape.Skip(1).Aggregate(1L, (a, b) => a * b);
Console.Error.WriteLine($"{modelPath}: {meta["spec_description"]}; {meta["features"]} features; input " +
    $"{meta["input_dtype"]} ({string.Join(" x ", inShape.Select(d => d < 0 ? "batch" : d.ToString()))})");

var sw = Stopwatch.StartNew();
var forward = new Stopwatch();                                                  // time in ONNX Runtime alone
long rows = 0;
using (var output = new StreamWriter(outPath))
{
    var pending = new List<float[]>();
    bool header = false;
    foreach (var line in File.ReadLines(rowsPath))
    {
        if (line.Length == 0) continue;
        var cells = line.Split(',');
        if (!header && rows == 0 && pending.Count == 0 && !float.TryParse(cells[0], CultureInfo.InvariantCulture, out _)
            && !IsMissing(cells[0]))
        {
            header = true;                                                      // a header line
            continue;
        }
        if (cells.Length != width)
            throw new InvalidDataException($"{rowsPath}: a row of {cells.Length} values, the model takes {width}");
        pending.Add(cells.Select(c => IsMissing(c) ? float.NaN : float.Parse(c, CultureInfo.InvariantCulture)).ToArray());
        if (pending.Count == batch) Flush();
    }
    Flush();

    void Flush()
    {
        if (pending.Count == 0) return;
        long n = pending.Count;
        var flat = pending.SelectMany(r => r).ToArray();                            // (n, ..input shape), row-major
        long[] shape = [n, .. inShape.Skip(1)];
        using var input = ids ? OrtValue.CreateTensorValueFromMemory(flat.Select(v => (long)v).ToArray(), shape)
                              : OrtValue.CreateTensorValueFromMemory(flat, shape);
        using var run = new RunOptions();
        forward.Start();
        using var result = session.Run(run, ["input"], [input], ["features"]);
        forward.Stop();
        var f = result[0].GetTensorDataAsSpan<float>();
        long per = f.Length / n;
        if (rows == 0) output.WriteLine("row," + string.Join(",", Enumerable.Range(0, (int)per).Select(k => "f" + k)));
        for (long r = 0; r < n; r++)
        {
            output.Write(rows + r);
            for (long k = 0; k < per; k++)
                output.Write("," + f[(int)(r * per + k)].ToString("R", CultureInfo.InvariantCulture));
            output.WriteLine();
        }
        rows += n;
        pending.Clear();
    }
}
Console.Error.WriteLine($"embedded {rows} rows in {sw.Elapsed.TotalSeconds:F2} s, of which the encoder " +
    $"{forward.Elapsed.TotalSeconds:F2} s ({rows / forward.Elapsed.TotalSeconds:F1} rows/s) -> {outPath}");
return 0;

static bool IsMissing(string c) => c.Trim() is "" or "NA" or "N/A" or "NaN" or "nan" or "?";

int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
