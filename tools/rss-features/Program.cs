// Usage: dotnet run -c Release --project tools/rss-features -- N [BATCH]
// Frozen features of N samples (dna-splice training rows repeated) through the library's batched feature
// path (LinearProbe.Features, what probes and ExtractFeatures use), tiny preset, random init. Prints the
// RSS before, the largest RSS sampled every 10 ms during the extraction, and the sizes of input and output,
// so that memory beyond input + output can be compared across N.
using System.Globalization;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Model;
using MetaMae.Training;
using static TorchSharp.torch;
using MetaMae.Runtime;

int n = int.Parse(args[0], CultureInfo.InvariantCulture);
int batch = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 256;
CpuMath.Configure(2);
var ds = Catalog.Load("dna-splice");
var preset = Catalog.Get("dna-splice").Preset;
var cfg = new RunConfig("metamae", "dna-splice", ds.Spec, preset.Apply(ModelConfig.Tiny), preset.Objective(true), new TrainOptions());
using var model = Pretrainer.CreateModel(cfg, CPU);
int reps = (n + (int)ds.Train.Count - 1) / (int)ds.Train.Count;
var all = ds.Train.X.repeat([reps, .. Enumerable.Repeat(1L, (int)ds.Train.X.dim() - 1)]);
using var x = all.narrow(0, 0, n).contiguous();                        // x: (N, ..spec.RawShape)
all.Dispose();
GC.Collect();
long Mb(long b) => b >> 20;
long before = Environment.WorkingSet, peak = before;
bool done = false;
var sw = System.Diagnostics.Stopwatch.StartNew();
var trace = new List<(double Seconds, long Rss)>();                    // every 10 ms sample, for the RSS-over-time line
var sampler = new Thread(() =>
{
    while (!Volatile.Read(ref done))
    {
        long rss = Environment.WorkingSet;
        peak = Math.Max(peak, rss);
        trace.Add((sw.Elapsed.TotalSeconds, rss));
        Thread.Sleep(10);
    }
});
sampler.Start();
using var f = LinearProbe.Features(model, x, batch);                   // f: (N, D)
Volatile.Write(ref done, true);
sampler.Join();
long inBytes = x.numel() * x.element_size(), outBytes = f.numel() * f.element_size();
Console.WriteLine($"N={n} batch={batch}: features ({f.shape[0]}, {f.shape[1]}) in {sw.Elapsed.TotalSeconds:F1} s; rss before {Mb(before)} MB, " +
                  $"largest during {Mb(peak)} MB (+{Mb(peak - before)} MB); input {Mb(inBytes)} MB, output {Mb(outBytes)} MB, " +
                  $"growth beyond the output {Mb(peak - before - outBytes)} MB");
// RSS over time: the largest sample in each tenth of the extraction's duration. Constant memory = the later tenths
// do not keep climbing (a leak per batch would grow linearly with the samples processed).
double total = sw.Elapsed.TotalSeconds;
var tenths = Enumerable.Range(0, 10).Select(i => trace.Where(t => t.Seconds >= total * i / 10 && t.Seconds < total * (i + 1) / 10)
    .Select(t => t.Rss).DefaultIfEmpty(0).Max()).Select(r => r == 0 ? "-" : Mb(r).ToString(CultureInfo.InvariantCulture));
Console.WriteLine($"N={n}: largest RSS (MB) in each tenth of the extraction: {string.Join(" ", tenths)}");
