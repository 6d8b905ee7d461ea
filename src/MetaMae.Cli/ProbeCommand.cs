namespace MetaMae.Cli;

/// <summary>`metamae probe`: linear evaluation of a checkpoint or of a random-init encoder.</summary>
internal static class ProbeCommand
{
    internal static Command Create()
    {
        var c = WithCommon(new Command("probe", "Linear evaluation of a frozen encoder: a checkpoint, or --random-init"), training: false);
        c.Add(CheckpointOpt);
        c.Add(RandomInit);
        c.Add(RawInput);
        c.Add(ProbeEpochs);
        c.Add(ProbeMaxIterations);
        c.Add(ProbeBatch);
        c.Add(ProbeProtocolOpt);
        c.Add(FeaturesOpt);
        c.Add(LabelFraction);
        c.SetAction(p =>
        {
            var device = Setup(p);
            var ckpt = p.GetValue(CheckpointOpt);
            bool random = p.GetValue(RandomInit);
            if (p.GetValue(RawInput)) return ProbeRawInput(p, ckpt is not null || random);
            if ((ckpt is null) == !random)
                throw new ArgumentException("give exactly one of --checkpoint FILE, --random-init or --raw-input");
            string datasetName = p.GetValue(DatasetOpt) ?? "dna-splice";
            if (ckpt is not null)
            {
                using var ck = Checkpoint.Load(ckpt);
                datasetName = p.GetValue(DatasetOpt) ?? ck.Config.Dataset;
            }
            var ds = LoadData(p, ref datasetName, out var dsPreset);
            using var model = ckpt is not null ? Checkpoint.LoadModel(ckpt, device)
                : Pretrainer.CreateModel(RunSettings.Resolve(Algorithms.RandomInit, datasetName, ds.Spec, dsPreset,
                    p.GetValue(Preset)!, p.GetValue(Seed)), device);
            if (ds.Spec != model.Spec)
                throw new ArgumentException($"dataset '{datasetName}' has inputs '{ds.Spec.Describe()}' but the " +
                    $"encoder was built for '{model.Spec.Describe()}'");
            SetPrecision(p, model, device);
            var po = ProbeOpts(p, dsPreset);
            foreach (var l in ProbeNotes.SmallClasses(ds)) Console.Error.WriteLine(l);
            var rs = LinearProbe.RunAtFractions(model, ds, po, LabelFractions(p));
            var r = rs[0];
            var name = ckpt ?? "random init";
            foreach (var ri in rs)
                Console.WriteLine($"probe of {name} on {datasetName}: test {ri.Metric} {ri.Test:F4} " +
                    $"(validation {ri.Validation:F4}, {ri.Describe()})");
            var json = new JsonObject
            {
                ["dataset"] = datasetName, ["checkpoint"] = ckpt, ["random_init"] = random,
            };
            AddProbeJson(json, r);
            AddRows(json, ckpt is null ? Algorithms.RandomInitRow : "checkpoint", rs);
            PrintJson(p, json);
            return 0;
        });
        return c;
    }

    /// <summary>`probe --raw-input`: the linear probe on the dataset's raw input (no encoder).</summary>
    static int ProbeRawInput(ParseResult p, bool encoderGiven)
    {
        if (encoderGiven) throw new ArgumentException("give exactly one of --checkpoint FILE, --random-init or --raw-input");
        var datasetName = p.GetValue(DatasetOpt) ?? "dna-splice";
        var ds = LoadData(p, ref datasetName, out var preset);
        var rs = RawInputProbe.RunAtFractions(ds, ProbeOpts(p, preset), LabelFractions(p));
        var r = rs[0];
        foreach (var ri in rs)
            Console.WriteLine($"probe of the raw input on {datasetName}: test {ri.Metric} {ri.Test:F4} " +
                $"(validation {ri.Validation:F4}, {ri.Describe()})");
        var json = new JsonObject
        {
            ["dataset"] = datasetName, ["raw_input"] = true,
        };
        AddProbeJson(json, r);
        AddRows(json, Algorithms.RawInputRow, rs);
        PrintJson(p, json);
        return 0;
    }
}
