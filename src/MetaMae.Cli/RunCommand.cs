using MetaMae.IO;
namespace MetaMae.Cli;

/// <summary>`metamae run`: pretrain, then probe the encoder and the random-init baseline.</summary>
internal static class RunCommand
{
    internal static Command Create()
    {
        var c = WithCommon(
            new Command("run", "Pretrain, then probe the encoder and the random-init baseline on the same split"), training: true);
        c.Add(SaveEvery);
        c.Add(Resume);
        c.Add(TbImages);
        c.Add(ProbeEpochs);
        c.Add(ProbeMaxIterations);
        c.Add(ProbeBatch);
        c.Add(ProbeProtocolOpt);
        c.Add(FeaturesOpt);
        c.Add(LabelFraction);
        c.SetAction(p =>
        {
            if (MetaMae.Distributed.Mpi.LaunchedSize() > 1)
                throw new ArgumentException("under mpirun only 'pretrain' runs data-parallel: " +
                    "run 'mpirun ... metamae pretrain', then 'metamae probe' in one process");
            var device = Setup(p);
            var stop = new GracefulStop();   // pretraining only: the probes after it stop at the first signal
            var (ds, cfg, outDir, preset) = Resolve(p, "pretrain");
            using var runLock = RunLock.Acquire(outDir);
            var po = ProbeOpts(p, preset);
            PretrainResult pre;
            using (stop)
                pre = ConsoleMonitor.With("pretrain", m => Pretrainer.Run(ds.Train.X, cfg, Path.Combine(outDir, "pretrain"),
                    p.GetValue(Resume), new CombinedMonitor(m, TbHook(p, ds, cfg, Path.Combine(outDir, "pretrain"))),
                    device, stop: stop.Token, missingCells: ByoCli.HasMissing(ds)));
            PlotLoss(Path.Combine(outDir, "pretrain"));
            ByoCli.AddDataReport(Path.Combine(outDir, "pretrain"), ds);
            if (!ds.IsLabeled)
            {
                Console.WriteLine($"{cfg.Dataset} is unlabeled: pretrained only ({pre.Steps} steps, " +
                    $"final loss {pre.FinalLoss:F4} -> {pre.CheckpointPath}); a linear probe needs labels, " +
                    "so none was run");
                var pj = new JsonObject
                {
                    ["dataset"] = cfg.Dataset, ["algo"] = cfg.Algo, ["steps"] = pre.Steps, ["final_loss"] = pre.FinalLoss,
                    ["probe"] = "skipped: unlabeled data",
                    ["checkpoint"] = pre.CheckpointPath, ["adaptation_warning_step"] = pre.AdaptationWarningStep,
                };
                AtomicFile.WriteText(Path.Combine(outDir, "result.json"),
                    pj.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
                PrintJson(p, pj);
                return 0;
            }
            foreach (var l in ProbeNotes.SmallClasses(ds)) Console.Error.WriteLine(l);
            var what = po.Protocol == ProbeProtocol.Paper ? $"paper probe, {po.Epochs} epochs" : "converged probe, L2 swept on validation";
            Console.Error.WriteLine($"probe ({what}) on frozen features of the pretrained encoder...");
            var fractions = LabelFractions(p);
            var probes = LinearProbe.RunAtFractions(pre.Model, ds, po, fractions);
            Console.Error.WriteLine("probe: the random-init encoder (same seed, same split), then the raw input...");
            using var baseline = Pretrainer.CreateModel(cfg, device);
            var rnds = LinearProbe.RunAtFractions(baseline, ds, po, fractions);
            var raws = RawInputProbe.RunAtFractions(ds, po, fractions);
            var (probe, rnd, raw) = (probes[0], rnds[0], raws[0]);                  // the first fraction: the flat fields
            var png = Path.Combine(outDir, "probe.png");
            Console.Error.WriteLine("wrote " + (po.Protocol == ProbeProtocol.Paper
                ? Plots.ProbeCurve(probe.ValidationCurve, probe.TrainLossCurve, probe.Metric, png)
                : Plots.ProbeCurve(probe.ValidationCurve, probe.TrainLossCurve, probe.Metric, png, [.. probe.Penalties.Select(Math.Log10)],
                    "log10 L2 strength")));

            var encoders = new[]
            {
                (Name: cfg.Algo, Label: cfg.Algo, Results: probes), (Name: Algorithms.RandomInitRow, Label: "random init", Results: rnds),
                (Name: Algorithms.RawInputRow, Label: "raw input", Results: raws),
            };
            var table = new Table().Title($"{cfg.Dataset}: {cfg.Algo}, preset {PresetName(cfg.Model)}, " +
                $"{cfg.Train.Steps} steps, seed {cfg.Train.Seed}").AddColumn("features");
            if (fractions.Length == 1) table.AddColumn($"validation {probe.Metric}").AddColumn($"test {probe.Metric}");
            else foreach (var f in fractions) table.AddColumn($"test {probe.Metric}, {f:0.###%} of the labels");
            table.AddColumn(fractions.Length == 1 ? "probe" : $"probe ({fractions[0]:0.###%} of the labels)");
            foreach (var (_, label, rs) in encoders)
                table.AddRow([label, .. fractions.Length == 1 ? [$"{rs[0].Validation:F4}", $"{rs[0].Test:F4}"]
                    : rs.Select(r => $"{r.Test:F4}"), Markup.Escape(rs[0].Describe())]);
            AnsiConsole.Write(table);
            Console.WriteLine(RunReading.Line(cfg.Algo, cfg.Train.Seed, fractions, probes, rnds, raws));
            if (pre.AdaptationWarningStep is int warned)
                Console.WriteLine(RunReading.AdaptationNote(warned, cfg.Objective.Alpha, probes, raws));
            var result = new JsonObject
            {
                ["dataset"] = cfg.Dataset, ["algo"] = cfg.Algo, ["preset"] = PresetName(cfg.Model), ["seed"] = cfg.Train.Seed,
                ["steps"] = pre.Steps, ["batch"] = cfg.Train.Batch, ["final_loss"] = pre.FinalLoss,
                ["pretrain_seconds"] = Math.Round(pre.Seconds, 3),
                ["probe_epochs"] = po.Protocol == ProbeProtocol.Paper ? po.Epochs : null, ["checkpoint"] = pre.CheckpointPath,
                ["adaptation_warning_step"] = pre.AdaptationWarningStep,
                ["config"] = JsonNode.Parse(cfg.ToJson()), ["data"] = ds.Report?.ToJson(),
            };
            AddProbeJson(result, probe);
            AddProbeJson(result, rnd, "random_init_");
            AddProbeJson(result, raw, "raw_input_");
            // one row per (encoder, label fraction): the encoder's algorithm name, random_init or raw_input
            foreach (var (encoderName, _, rs) in encoders) AddRows(result, encoderName, rs);
            AtomicFile.WriteText(Path.Combine(outDir, "result.json"),
                result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            PrintJson(p, result);
            return 0;
        });
        return c;
    }
}
