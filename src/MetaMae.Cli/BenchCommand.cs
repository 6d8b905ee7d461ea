using System.CommandLine;
using MetaMae.Bench;
using static TorchSharp.torch;

namespace MetaMae.Cli;

/// <summary>`metamae bench-suite PLAN.json`: runs a benchmark plan cell by cell (skipping cells already done) and writes its table and plot.</summary>
public static class BenchCommand
{
    public static Command Create(Option<string?> dataDir, Option<int?> threads)
    {
        var plan = new Argument<string>("plan") { Description = "A plan file (JSON), e.g. configs/table4-ablation.json" };
        var outOpt = new Option<string?>("--out") { Description = "Output folder (default results/PLAN-NAME)" };
        var only = new Option<string?>("--datasets") { Description = "Comma-separated datasets: run only the columns that involve them" };
        var c = new Command("bench-suite", "Run a plan of algorithms x datasets x seeds x settings; cells already done are skipped, a killed suite continues") { plan, outOpt, only, dataDir, threads };
        c.SetAction(p =>
        {
            set_num_threads(p.GetValue(threads) ?? Environment.ProcessorCount);
            var path = p.GetValue(plan)!;
            var filter = p.GetValue(only)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var pl = BenchPlan.Load(path).Restrict(filter);
            var outDir = p.GetValue(outOpt) ?? Path.Combine("results", pl.Name);
            Directory.CreateDirectory(outDir);
            var cmd = "metamae bench-suite " + string.Join(" ", Environment.GetCommandLineArgs().Skip(2));
            var results = BenchSuite.Run(pl, outDir, p.GetValue(dataDir), Console.Out, cmd);
            Console.WriteLine($"{results.Count} cells ({results.Count(r => r.Skipped)} done before) -> {Path.Combine(outDir, pl.Name + ".md")}, {Path.Combine(outDir, pl.Name + ".png")}");
            return 0;
        });
        return c;
    }
}
