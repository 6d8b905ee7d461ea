using System.Globalization;
using MetaMae.Experiments;
using MetaMae.IO;
using MetaMae.Runtime;

namespace MetaMae.Cli;

/// <summary>`metamae compare`: does pretraining pay on this data? Raw input, random init, MAE and MetaMAE at the CPU
/// recipe over seeds and label fractions, run as a bench-suite plan (resumable), then a table, a forest plot, a
/// results JSON and three sentences.</summary>
internal static class CompareCommand
{
    private static readonly Option<int> SeedsOpt =
        new("--seeds") { Description = "Seeds 0..N-1 (paired intervals need 3 or more)", DefaultValueFactory = _ => 3 };
    private static readonly Option<string> FractionsOpt = new("--label-fraction")
    {
        Description = "Label fractions to probe at, a list: each encoder is pretrained once and probed at each",
        DefaultValueFactory = _ => "0.1,1",
    };
    private static readonly Option<string> PresetOpt = new Option<string>("--preset")
    {
        Description = $"Model size (default {CpuRecipe.Preset}, the CPU recipe's; tiny for a quick look)",
        DefaultValueFactory = _ => CpuRecipe.Preset,
    }.AcceptOnlyFromAmong([.. ModelConfig.PresetNames]);
    private static readonly Option<int?> StepsOpt =
        new("--steps") { Description = $"Pretraining steps of MAE and MetaMAE (default {CpuRecipe.Steps}, the recipe's)" };
    private static readonly Option<string?> BudgetOpt = new("--budget")
    {
        Description = "Wall-clock budget for all cells, e.g. 90s, 30m, 2h: the steps are chosen from the measured speed " +
            $"of the first steps (at most {CpuRecipe.Steps})",
    };
    private static readonly Option<string?> OutOpt =
        new("--out") { Description = "Output folder (default results/compare-DATASET)" };
    private static readonly Option<bool> ResumeOpt = new("--resume")
    {
        Description = "Continue the compare in --out: the cells not finished run, settings not given are the stored ones",
    };

    internal static Command Create()
    {
        var c = new Command("compare", "Does pretraining pay on this data? Raw input, random init, MAE and MetaMAE at " +
            "the CPU recipe over seeds and label fractions, with paired 95% intervals, a table, a forest plot and a verdict")
        {
            DatasetOpt, DataDir, DabsRoot, MaxPerSplit, SeedsOpt, FractionsOpt, PresetOpt, StepsOpt, BudgetOpt, OutOpt,
            ResumeOpt, ProbeProtocolOpt, ProbeEpochs, Threads, Json,
        };
        foreach (var o in DataOptions) c.Add(o);
        foreach (var o in ByoCli.ByoTableOptions) c.Add(o);
        c.SetAction(Run);
        return c;
    }

    private static int Run(ParseResult p)
    {
        CpuMath.Configure(p.GetValue(Threads) ?? Environment.ProcessorCount);
        bool resume = p.GetValue(ResumeOpt);
        // `compare --resume --out DIR` continues DIR's compare on its shipped dataset without naming it again
        var storedData = resume && p.GetValue(OutOpt) is string given && p.GetValue(DataOpt) is null
            ? CompareSettings.Read(given)?.GetValueOrDefault("data") : null;
        var name = p.GetValue(DatasetOpt)
            ?? (storedData is not null && Catalog.Entries.Any(e => e.Name == storedData) ? storedData : "dna-splice");
        var source = SourceOf(p, name);
        var column = ExperimentPlan.Slug(ByoCli.SafeRunName(p, name));
        var outDir = p.GetValue(OutOpt) ?? Path.Combine("results", $"compare-{column}");
        var stored = CompareSettings.Read(outDir);
        if (resume && stored is null)
            throw new ArgumentException($"--resume: {outDir} holds no compare to continue " +
                $"({CompareSettings.FileName} is missing); run without --resume to start one");
        // an option not given takes the stored compare's value on --resume, else its default
        string Value<T>(Option<T> o, string key, string fallback) =>
            p.GetResult(o) is { Implicit: false } ? Convert.ToString(p.GetValue(o), CultureInfo.InvariantCulture)!
            : resume && stored!.TryGetValue(key, out var v) && v is not null ? v : fallback;

        var (ds, preset) = source.Load();
        if (source is OwnDataSource own) ByoCli.ReportByo(ds, own.Options.Modality, preset);
        if (!ds.IsLabeled || ds.Test is null)
            throw new ArgumentException($"{column} has no labelled test split: a comparison probes with labels");
        int seeds = int.Parse(Value(SeedsOpt, "seeds", "3"), CultureInfo.InvariantCulture);
        if (seeds < 1) throw new ArgumentException($"--seeds must be >= 1 (got {seeds})");
        var fractionsText = Value(FractionsOpt, "label_fraction", "0.1,1");
        var fractions = ParseLabelFractions(fractionsText);
        bool epochsGiven = p.GetResult(ProbeEpochs) is { Implicit: false };
        var protocolText = Value(ProbeProtocolOpt, "probe",
            ProbeOptions.Name(epochsGiven ? ProbeProtocol.Paper : ProbeProtocol.Converged));
        var protocol = ProbeOptions.Parse(protocolText, "--probe");
        var epochs = int.Parse(Value(ProbeEpochs, "probe_epochs",
            new ProbeOptions().Epochs.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        if (protocol == ProbeProtocol.Converged && epochsGiven)
            throw new ArgumentException("--probe-epochs sets the paper probe; drop it, or use --probe paper");
        var budgetText = p.GetValue(BudgetOpt)
            ?? (resume && p.GetValue(StepsOpt) is null ? stored!.GetValueOrDefault("budget") : null);
        var stepsText = p.GetValue(StepsOpt)?.ToString(CultureInfo.InvariantCulture)
            ?? (resume && budgetText is null ? stored!.GetValueOrDefault("steps") : null);
        if (budgetText is not null && p.GetValue(StepsOpt) is not null)
            throw new ArgumentException("--steps and --budget both set the pretraining steps: give one");
        var budget = budgetText is null ? (TimeSpan?)null : Comparison.ParseBudget(budgetText);
        // a budget the stored compare was given keeps the steps it chose (measuring again would move them)
        if (budgetText is not null && stored?.GetValueOrDefault("budget") == budgetText) stepsText = stored["steps"];
        int steps = stepsText is null ? CpuRecipe.Steps : int.Parse(stepsText, CultureInfo.InvariantCulture);
        if (steps < 1) throw new ArgumentException($"--steps must be >= 1 (got {steps})");

        var options = new ComparisonOptions
        {
            Dataset = column, Preset = Value(PresetOpt, "preset", CpuRecipe.Preset), Steps = steps,
            Seeds = Enumerable.Range(0, seeds).Select(i => (long)i).ToArray(), LabelFractions = fractions,
            Probe = protocol, ProbeEpochs = epochs,
        };
        var loaded = new PreloadedSource(ds, preset);
        var plan = Comparison.Plan(options, loaded, ds.Train.Count);
        var settings = new Dictionary<string, string?>
        {
            ["data"] = CompareSettings.Describe(source), ["preset"] = options.Preset,
            ["seeds"] = seeds.ToString(CultureInfo.InvariantCulture), ["label_fraction"] = fractionsText,
            ["probe"] = protocolText, ["probe_epochs"] = epochs.ToString(CultureInfo.InvariantCulture),
            ["budget"] = budgetText,
            ["steps"] = budget is null || stepsText is not null ? steps.ToString(CultureInfo.InvariantCulture) : null,
        };
        if (stored is not null) CompareSettings.Check(stored, settings, outDir);

        int total = plan.Rows.Length * plan.Seeds.Length;
        int done = plan.Rows.Sum(r => plan.Seeds.Count(s =>
            File.Exists(Path.Combine(ExperimentSuite.CellDir(plan, outDir, r, 0, s), "result.json"))));
        CompareSpeed? speed = null;
        if (done < total)
        {
            Console.Error.WriteLine($"measuring the speed of MAE and MetaMAE steps and of a probe on {column}...");
            speed = CompareBudget.Measure(plan, ds, preset);
            if (budget is { } b && settings["steps"] is null)
            {
                steps = CompareBudget.StepsFor(b, speed, seeds, fractions.Length, budgetText!);
                options = options with { Steps = steps };
                plan = Comparison.Plan(options, loaded, ds.Train.Count);
                settings["steps"] = steps.ToString(CultureInfo.InvariantCulture);
            }
            var est = TimeSpan.FromSeconds(speed.Seconds(steps, seeds, fractions.Length) * (total - done) / total);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(budget is null ? "" : $"budget {budgetText}: ")}{steps} pretraining steps; measured " +
                $"{speed.MaeStep:0.###} s per MAE step, {speed.MetaMaeStep:0.###} s per MetaMAE step, " +
                $"{speed.Probe:0.#} s per probe (in {speed.MeasureSeconds:0.#} s); " +
                $"{total - done} of {total} cells to run: about {ExperimentSuite.Duration(est)}"));
        }
        Directory.CreateDirectory(outDir);
        CompareSettings.Write(outDir, settings);
        var cmd = "metamae compare " + string.Join(" ", Environment.GetCommandLineArgs().Skip(2));
        var results = ExperimentSuite.Run(plan, outDir, progress: Console.Out, command: cmd,
            cellSeconds: speed is null ? null : (row, _) => speed.CellSeconds(plan, row, steps),
            plots: ExperimentPlots.Instance);

        var summary = Comparison.Summarise(options, results, ds.Test.Count);
        var recipe = CpuRecipe.Describe(options.Preset, steps);
        ExperimentPlots.WritePairs(plan, results, Path.Combine(outDir, Comparison.PlanName + "-pairs.png"),
            (pair, _) => summary.Pairs.Any(d => d.Decisive
                && pair == new PlanPair(Comparison.Label(d.A, d.Fraction), Comparison.Label(d.B, d.Fraction))),
            $"a verdict: excludes 0, >= {Comparison.MinDistinctDifferences} distinct differences, " +
            $">= {Comparison.MinTestRows} test rows");
        var md = Path.Combine(outDir, Comparison.PlanName + "-summary.md");
        AtomicFile.WriteText(md, ComparisonReport.Markdown(summary, cmd, recipe));
        var json = ComparisonReport.Json(summary, recipe);
        var jsonPath = Path.Combine(outDir, Comparison.PlanName + "-results.json");
        AtomicFile.WriteText(jsonPath, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

        foreach (var (title, t) in new[] { ($"{column}: {recipe}", ComparisonReport.ScoreTable(summary)),
                     ("paired differences A - B over seeds, 95% intervals (* a verdict)",
                         ComparisonReport.PairTable(summary)) })
        {
            var table = new Table().Title(Markup.Escape(title));
            foreach (var h in t.Header) table.AddColumn(Markup.Escape(h));
            foreach (var r in t.Rows) table.AddRow(r.Select(Markup.Escape).ToArray());
            AnsiConsole.Write(table);
        }
        foreach (var s in ComparisonReport.Sentences(summary)) Console.WriteLine(s);
        Console.WriteLine($"-> {md}, {jsonPath}, {Path.Combine(outDir, Comparison.PlanName + "-pairs.png")} " +
            $"(forest plot), {Path.Combine(outDir, Comparison.PlanName + ".md")} (per seed)");
        PrintJson(p, json);
        return 0;
    }
}
