// TorchEmbed: OnnxEmbed's counterpart with TorchSharp-cpu (libtorch) through the MetaMae library: the same CSV of raw
// rows in, the same features out, from a checkpoint. Usage: TorchEmbed CHECKPOINT.safetensors ROWS.csv OUT.csv
// [--batch 256] [--threads N] [--features mean|cls|tokens]
using System.Diagnostics;
using System.Globalization;
using MetaMae.Evaluation;
using MetaMae;
using MetaMae.Training;
using static TorchSharp.torch;
using MetaMae.Runtime;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: TorchEmbed CHECKPOINT.safetensors ROWS.csv OUT.csv [--batch N] [--threads N] " +
        "[--features K]");
    return 2;
}
string ckpt = args[0], rowsPath = args[1], outPath = args[2];
int batch = int.Parse(Option("--batch", "256"), CultureInfo.InvariantCulture);
int threads = int.Parse(Option("--threads", "0"), CultureInfo.InvariantCulture);
var kind = FeatureExtraction.Parse(Option("--features", "mean"));
CpuMath.Configure(threads > 0 ? threads : Environment.ProcessorCount);       // the library's CPU set-up (README "Speed")
using var model = Checkpoint.LoadModel(ckpt);
var spec = model.Spec;
long width = spec.RawShape.Aggregate(1L, (a, b) => a * b);

var sw = Stopwatch.StartNew();
var rows = File.ReadLines(rowsPath).Where(l => l.Length > 0).ToList();
if (rows.Count > 0 && !float.TryParse(rows[0].Split(',')[0], CultureInfo.InvariantCulture, out _)) rows.RemoveAt(0);
var flat = new float[rows.Count * width];
for (int r = 0; r < rows.Count; r++)
{
    var cells = rows[r].Split(',');
    if (cells.Length != width)
        throw new InvalidDataException($"{rowsPath}: a row of {cells.Length} values, the model takes {width}");
    for (int k = 0; k < width; k++)
        flat[r * width + k] = cells[k].Trim() is "" or "NA" or "N/A" or "NaN" or "nan" or "?" ? float.NaN
            : float.Parse(cells[k], CultureInfo.InvariantCulture);
}
using var x0 = tensor(flat, [rows.Count, .. spec.RawShape]);
using var x = spec.IsDiscrete ? x0.to(ScalarType.Int64) : x0.alias();
var forward = Stopwatch.StartNew();                                             // time in the encoder alone
using var f = model.ExtractFeatures(x, kind, batch).reshape(rows.Count, -1);         // (N, D) or (N, L*D)
forward.Stop();
var v = f.data<float>().ToArray();
long per = f.shape[1];
using (var output = new StreamWriter(outPath))
{
    output.WriteLine("row," + string.Join(",", Enumerable.Range(0, (int)per).Select(k => "f" + k)));
    for (int r = 0; r < rows.Count; r++)
        output.WriteLine(r + "," + string.Join(",", Enumerable.Range(0, (int)per)
            .Select(k => v[r * per + k].ToString("R", CultureInfo.InvariantCulture))));
}
Console.Error.WriteLine($"embedded {rows.Count} rows in {sw.Elapsed.TotalSeconds:F2} s, of which the encoder " +
    $"{forward.Elapsed.TotalSeconds:F2} s ({rows.Count / forward.Elapsed.TotalSeconds:F1} rows/s) -> {outPath}");
return 0;

string Option(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
