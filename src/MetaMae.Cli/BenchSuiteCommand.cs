using MetaMae.Experiments;
using MetaMae.Runtime;

namespace MetaMae.Cli;

/// <summary>`metamae bench-suite PLAN.json`: runs a benchmark plan cell by cell (skipping cells already done) and
/// writes its table and plot.</summary>
public static class BenchSuiteCommand
{
    public static Command Create()
    {
        var plan = new Argument<string>("plan") { Description = "A plan file (JSON), e.g. configs/table4-ablation.json" };
        var outOpt = new Option<string?>("--out") { Description = "Output folder (default results/PLAN-NAME)" };
        var only = new Option<string?>("--datasets") { Description = "Comma-separated datasets: run only the columns that involve them" };
        var steps = new Option<int?>("--steps") { Description = "Override the plan's pretraining steps (a smaller CPU budget)" };
        var seeds = new Option<string?>("--seeds") { Description = "Override the plan's seeds, comma-separated" };
        var render = new Option<bool>("--render")
        {
            Description = "Run nothing: write the table and plot from the cells already done (cells not yet run are left out)",
        };
        var c = new Command("bench-suite", "Run a plan of algorithms x datasets x seeds x settings; " +
            "cells already done are skipped, a killed suite " +
            "continues") { plan, outOpt, only, steps, seeds, render, DataDir, Threads, DataOpt };
        foreach (var o in new Option[] { ModalityOpt, LabelColumn, SplitColumn, AlphabetOpt, PatchOpt, LengthOpt }) c.Add(o);
        c.SetAction(p =>
        {
            CpuMath.Configure(p.GetValue(Threads) ?? Environment.ProcessorCount);
            var path = p.GetValue(plan)!;
            var filter = p.GetValue(only)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var pl = ExperimentPlan.Load(path).Restrict(filter);
            if (p.GetValue(DataOpt) is string own)
                pl = pl.OnOwnData(
                    ExperimentPlan.Slug(Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(own))),
                    new OwnDataSource(own, ByoOpts(p, own)));
            if (p.GetValue(steps) is int st)
            {
                if (st < 1 || pl.EvalSteps.Any(e => e > st))
                    throw new ArgumentException($"--steps must be >= 1 and >= every eval step of the plan (got {st})");
                pl = pl with { Steps = st };
            }
            if (p.GetValue(seeds) is string ss)
                pl = pl with
                {
                    Seeds = ss.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => long.TryParse(x, out var v) ? v
                        : throw new ArgumentException($"--seeds: '{x}' is not an integer")).ToArray(),
                };
            var outDir = p.GetValue(outOpt) ?? Path.Combine("results", pl.Name);
            Directory.CreateDirectory(outDir);
            var cmd = "metamae bench-suite " + string.Join(" ", Environment.GetCommandLineArgs().Skip(2));
            bool renderOnly = p.GetValue(render);
            var results = ExperimentSuite.Run(pl, outDir, p.GetValue(DataDir), Console.Out, cmd, renderOnly: renderOnly,
                plots: ExperimentPlots.Instance);
            int planned = pl.Rows.Length * pl.Columns.Count * pl.Seeds.Length;
            if (renderOnly) Console.WriteLine($"{results.Count} of {planned} cells done; rendered without running the rest");
            else Console.WriteLine($"{results.Count} cells ({results.Count(r => r.Skipped)} done before) " +
                $"-> {Path.Combine(outDir, pl.Name + ".md")}, {Path.Combine(outDir, pl.Name + ".png")}");
            return 0;
        });
        return c;
    }
}
