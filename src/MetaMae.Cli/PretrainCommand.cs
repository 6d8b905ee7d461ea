using MetaMae.IO;
namespace MetaMae.Cli;

/// <summary>`metamae pretrain`: pretrain an encoder (data-parallel under mpirun).</summary>
internal static class PretrainCommand
{
    internal static Command Create()
    {
        var c = WithCommon(new Command("pretrain", "Pretrain an encoder on a dataset's training split (labels unused)"), training: true);
        c.Add(SaveEvery);
        c.Add(Resume);
        c.Add(TbImages);
        c.Add(Accumulate);
        c.SetAction(p => DistributedCli.Run(p.GetValue(Accumulate), par =>
        {
            var device = Setup(p);
            using var stop = new GracefulStop();
            var (ds, cfg, outDir, _) = Resolve(p);
            using var runLock = par.Writes ? RunLock.Acquire(outDir) : null;
            var result = ConsoleMonitor.With("pretrain", m => Pretrainer.Run(ds.Train.X, cfg, Path.Combine(outDir),
                p.GetValue(Resume), new CombinedMonitor(m, TbHook(p, ds, cfg, outDir)), device, parallel: par,
                stop: stop.Token, missingCells: ByoCli.HasMissing(ds)));
            if (!par.Writes) return 0;                      // MPI ranks other than 0 write and print nothing
            ByoCli.AddDataReport(outDir, ds);
            PlotLoss(outDir);
            Console.WriteLine($"pretrained {cfg.Algo} on {cfg.Dataset}: {result.Steps} steps, " +
                $"final loss {result.FinalLoss:F4}, {result.Seconds:F0} s -> {result.CheckpointPath}");
            PrintJson(p, new JsonObject
            {
                ["dataset"] = cfg.Dataset, ["algo"] = cfg.Algo, ["steps"] = result.Steps, ["final_loss"] = result.FinalLoss,
                ["checkpoint"] = result.CheckpointPath, ["seconds"] = Math.Round(result.Seconds, 3),
                ["adaptation_warning_step"] = result.AdaptationWarningStep,
            });
            return 0;
        }));
        return c;
    }
}
