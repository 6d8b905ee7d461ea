using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MetaMae.Cli;
using MetaMae.Data;
using MetaMae.Data.Dabs;
using MetaMae.Evaluation;
using MetaMae.Model;
using MetaMae.Objectives;
using MetaMae.Training;
using Spectre.Console;
using static TorchSharp.torch;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
return Cli.Execute(args);

namespace MetaMae.Cli
{
    /// <summary>The `metamae` command. Exit codes: 0 ok, 1 a run failed (e.g. NaN loss), 2 bad usage or bad input.</summary>
    public static partial class Cli
    {
        // common options
        static readonly Option<string?> Dataset = new("--dataset") { Description = "Shipped dataset (see 'metamae datasets'); default dna-splice" };
        static readonly Option<string?> DataDir = new("--data-dir") { Description = "Folder holding the shipped datasets (default: data/ beside the program, or METAMAE_DATA)" };
        static readonly Option<string> Algo = new Option<string>("--algo") { Description = "Objective", DefaultValueFactory = _ => "metamae" }.AcceptOnlyFromAmong([.. Baselines.AllAlgorithms]);
        static readonly Option<string> Preset = new Option<string>("--preset") { Description = "Model size: paper (12x256 encoder) or tiny (2x64, for tests)", DefaultValueFactory = _ => "paper" }.AcceptOnlyFromAmong("paper", "tiny");
        static readonly Option<int?> Steps = new("--steps") { Description = "Pretraining steps (default 1000)" };
        static readonly Option<int?> Batch = new("--batch") { Description = "Pretraining batch (default: the dataset preset's)" };
        static readonly Option<long> Seed = new("--seed") { Description = "Seed of init, batches, masks, dropout and the probe", DefaultValueFactory = _ => 0 };
        static readonly Option<string?> Out = new("--out") { Description = "Output folder (default runs/DATASET-ALGO-PRESET-sSEED)" };
        static readonly Option<int?> Threads = new("--threads") { Description = "CPU threads for libtorch (default: all cores)" };
        static readonly Option<string> DeviceOpt = new("--device") { Description = "cpu, or cuda with a CUDA build of TorchSharp", DefaultValueFactory = _ => "cpu" };
        static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object as the last line of stdout" };
        // DABS datasets a user downloaded (docs/dabs-datasets.md)
        static readonly Option<string?> DabsRoot = new("--root") { Description = "Folder holding downloaded DABS datasets; --dataset then names one of them (see 'metamae datasets --root DIR')" };
        static readonly Option<int> MaxPerSplit = new("--max-per-split") { Description = "With --root: read at most N samples per split (0 = all)", DefaultValueFactory = _ => 0 };
        // MetaMAE switches (defaults: the dataset preset, i.e. Table 8)
        static readonly Option<double?> MaskRatio = new("--mask-ratio") { Description = "Fraction of tokens masked" };
        static readonly Option<double?> Alpha = new("--alpha") { Description = "Inner step size of the latent adaptation" };
        static readonly Option<double?> Lambda = new("--lambda") { Description = "Weight of the task-contrastive loss (0 = off)" };
        static readonly Option<double?> R = new("--r") { Description = "Nearby-S ratio r (0.1)" };
        static readonly Option<int?> InnerSteps = new("--inner-steps") { Description = "Latent adaptation steps (1)" };
        static readonly Option<bool> FirstOrder = new("--first-order") { Description = "Detach the inner gradient (first-order adaptation)" };
        static readonly Option<int?> DecoderDepth = new("--decoder-depth") { Description = "Decoder blocks n (0 = linear decoder, encoder sees every token)" };
        static readonly Option<double?> Dropout = new("--dropout") { Description = "Encoder dropout p" };
        static readonly Option<double?> Temperature = new("--temperature") { Description = "NT-Xent temperature (0.5)" };
        static readonly Option<double?> Lr = new("--lr") { Description = "AdamW learning rate (1e-4)" };
        // pretrain
        static readonly Option<int> SaveEvery = new("--save-every") { Description = "Checkpoint every N steps (0 = only at the end)", DefaultValueFactory = _ => 100 };
        static readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its checkpoint" };
        static readonly Option<int> Accumulate = new("--accumulate") { Description = "Split each batch into K micro-batches run one after the other (gradient accumulation); under mpirun, per process", DefaultValueFactory = _ => 1 };
        static readonly Option<int> LogEvery = new("--log-every") { Description = "Progress line every N steps", DefaultValueFactory = _ => 20 };
        // probe
        static readonly Option<string?> CheckpointOpt = new("--checkpoint") { Description = "A checkpoint.safetensors written by pretrain" };
        static readonly Option<bool> RandomInit = new("--random-init") { Description = "Probe an untrained encoder (the baseline row)" };
        static readonly Option<int> ProbeEpochs = new("--probe-epochs") { Description = "Linear-probe epochs", DefaultValueFactory = _ => 100 };
        static readonly Option<int?> ProbeBatch = new("--probe-batch") { Description = "Linear-probe batch (default: the dataset preset's)" };
        // bring your own data (Data/ByoData.cs)
        static readonly Option<string?> DataOpt = new("--data") { Description = "Your own data: a CSV / FASTA file or a folder of class subfolders (needs --modality)" };
        static readonly Option<string?> ModalityOpt = new Option<string?>("--modality") { Description = "Modality of --data" }.AcceptOnlyFromAmong(ByoData.Modalities);
        static readonly Option<string?> LabelColumn = new("--label-column") { Description = "Label column of a --data CSV (default 'label' if present)" };
        static readonly Option<string> SplitColumn = new("--split-column") { Description = "Split column (train/test) of a --data CSV; without one a seeded stratified 80/20 split", DefaultValueFactory = _ => "split" };
        static readonly Option<string?> AlphabetOpt = new("--alphabet") { Description = "Symbols of --modality sequence (default: inferred)" };
        static readonly Option<int?> PatchOpt = new("--patch") { Description = "Patch length (series) or side (image, audio) for --data" };
        static readonly Option<int?> LengthOpt = new("--length") { Description = "Sequence length (crop / pad) or series window for --data" };

        public static int Execute(string[] args)
        {
            var root = new RootCommand("MetaMae: modality-agnostic self-supervised learning with a meta-learned masked auto-encoder (NeurIPS 2023), in .NET.");
            root.Add(PretrainCommand());
            root.Add(ProbeCommand());
            root.Add(RunCommand());
            root.Add(DatasetsCommand());
            root.Add(EmbedCommand());
            root.Add(BenchCommand.Create(DataDir, Threads));
            root.Add(StepBenchCommand.Create());
            root.Add(ExportCommand());
            root.Add(ImportCommand());
            root.Add(ShowCommand());
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                var msg = string.Join(" ", parse.Errors[0].Message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
                Console.Error.WriteLine("error: " + msg + " (see 'metamae --help')");
                return 2;
            }
            try
            {
                if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 160;
                return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            }
            catch (Exception e) when (e is ArgumentException or DataFormatException or InvalidDataException or FileNotFoundException
                                           or DirectoryNotFoundException or InvalidOperationException or NotSupportedException)
            {
                Console.Error.WriteLine("error: " + e.Message);
                return 2;
            }
            catch (ArithmeticException e)
            {
                Console.Error.WriteLine("error: " + e.Message);
                return 1;
            }
        }

        static Command WithCommon(Command c, bool training)
        {
            foreach (var o in new Option[] { Dataset, DataDir, DabsRoot, MaxPerSplit, Preset, Seed, Out, Threads, DeviceOpt, Json }) c.Add(o);
            foreach (var o in new Option[] { DataOpt, ModalityOpt, LabelColumn, SplitColumn, AlphabetOpt, PatchOpt, LengthOpt }) c.Add(o);
            foreach (var o in ByoTableOptions) c.Add(o);
            if (training)
                foreach (var o in new Option[] { Algo, Steps, Batch, MaskRatio, Alpha, Lambda, R, InnerSteps, FirstOrder, DecoderDepth, Dropout, Temperature, Lr, LogEvery })
                    c.Add(o);
            return c;
        }

        static Command PretrainCommand()
        {
            var c = WithCommon(new Command("pretrain", "Pretrain an encoder on a dataset's training split (labels unused)"), training: true);
            c.Add(SaveEvery);
            c.Add(Resume);
            c.Add(TbImages);
            c.Add(Accumulate);
            c.SetAction(p => DistributedCli.Run(p.GetValue(Accumulate), par =>
            {
                var device = Setup(p);
                var (ds, cfg, outDir) = Resolve(p);
                using var runLock = par.Writes ? RunLock.Acquire(outDir) : null;
                var result = ConsoleMonitor.With("pretrain", m => Pretrainer.Run(ds.Train.X, cfg, Path.Combine(outDir), p.GetValue(Resume), m, device,
                    afterStep: TbHook(p, ds, cfg, outDir), parallel: par, missingCells: HasMissing(ds)));
                if (!par.Writes) return 0;                      // MPI ranks other than 0 write and print nothing
                AddDataReport(outDir, ds);
                PlotLoss(outDir);
                Console.WriteLine($"pretrained {cfg.Algo} on {cfg.Dataset}: {result.Steps} steps, final loss {result.FinalLoss:F4}, {result.Seconds:F0} s -> {result.CheckpointPath}");
                PrintJson(p, new JsonObject
                {
                    ["dataset"] = cfg.Dataset, ["algo"] = cfg.Algo, ["steps"] = result.Steps, ["final_loss"] = result.FinalLoss,
                    ["checkpoint"] = result.CheckpointPath, ["seconds"] = Math.Round(result.Seconds, 3),
                });
                return 0;
            }));
            return c;
        }

        static Command ProbeCommand()
        {
            var c = WithCommon(new Command("probe", "Linear evaluation of a frozen encoder: a checkpoint, or --random-init"), training: false);
            c.Add(CheckpointOpt);
            c.Add(RandomInit);
            c.Add(ProbeEpochs);
            c.Add(ProbeBatch);
            c.SetAction(p =>
            {
                var device = Setup(p);
                var ckpt = p.GetValue(CheckpointOpt);
                bool random = p.GetValue(RandomInit);
                if ((ckpt is null) == !random) throw new ArgumentException("give exactly one of --checkpoint FILE or --random-init");
                MetaMaeModel model;
                string datasetName;
                if (ckpt is not null)
                {
                    model = Checkpoint.LoadModel(ckpt, device);
                    using var ck = Checkpoint.Load(ckpt);
                    datasetName = p.GetValue(Dataset) ?? ck.Config.Dataset;
                }
                else
                {
                    datasetName = p.GetValue(Dataset) ?? "dna-splice";
                    var ds0 = LoadData(p, ref datasetName, out var entryPreset);
                    var entry = new { Preset = entryPreset };
                    var cfg0 = new RunConfig("random-init", datasetName, ds0.Spec, entry.Preset.Apply(ModelConfig.FromPreset(p.GetValue(Preset)!)),
                        entry.Preset.Objective(true), new TrainOptions { Seed = p.GetValue(Seed) });
                    model = Pretrainer.CreateModel(cfg0, device);
                }
                var ds = LoadData(p, ref datasetName, out var dsPreset);
                if (ds.Spec != model.Spec)
                    throw new ArgumentException($"dataset '{datasetName}' has inputs '{ds.Spec.Describe()}' but the encoder was built for '{model.Spec.Describe()}'");
                var po = ProbeOpts(p, dsPreset);
                foreach (var l in ProbeNotes.SmallClasses(ds)) Console.Error.WriteLine(l);
                var r = LinearProbe.Run(model, ds, po);
                var name = ckpt ?? "random init";
                Console.WriteLine($"probe of {name} on {datasetName}: test {r.Metric} {r.Test:F4} (validation {r.Validation:F4}, best epoch {r.BestEpoch}/{r.Epochs})");
                PrintJson(p, new JsonObject
                {
                    ["dataset"] = datasetName, ["checkpoint"] = ckpt, ["random_init"] = random, ["metric"] = r.Metric,
                    ["test"] = r.Test, ["validation"] = r.Validation, ["best_epoch"] = r.BestEpoch,
                    ["test_accuracy"] = Num(r.TestAccuracy), ["test_weighted_f1"] = Num(r.TestWeightedF1),
                });
                return 0;
            });
            return c;
        }

        static Command RunCommand()
        {
            var c = WithCommon(new Command("run", "Pretrain, then probe the encoder and the random-init baseline on the same split"), training: true);
            c.Add(SaveEvery);
            c.Add(Resume);
            c.Add(TbImages);
            c.Add(ProbeEpochs);
            c.Add(ProbeBatch);
            c.SetAction(p =>
            {
                if (MetaMae.Distributed.Mpi.LaunchedSize() > 1)
                    throw new ArgumentException("under mpirun only 'pretrain' runs data-parallel: run 'mpirun ... metamae pretrain', then 'metamae probe' in one process");
                var device = Setup(p);
                var (ds, cfg, outDir) = Resolve(p, "pretrain");
                using var runLock = RunLock.Acquire(outDir);
                var po = ProbeOpts(p, PresetOf(p, cfg.Dataset));
                var pre = ConsoleMonitor.With("pretrain", m => Pretrainer.Run(ds.Train.X, cfg, Path.Combine(outDir, "pretrain"), p.GetValue(Resume), m, device,
                    afterStep: TbHook(p, ds, cfg, Path.Combine(outDir, "pretrain")), missingCells: HasMissing(ds)));
                PlotLoss(Path.Combine(outDir, "pretrain"));
                AddDataReport(Path.Combine(outDir, "pretrain"), ds);
                if (!ds.IsLabeled)
                {
                    Console.WriteLine($"{cfg.Dataset} is unlabeled: pretrained only ({pre.Steps} steps, final loss {pre.FinalLoss:F4} -> {pre.CheckpointPath}); a linear probe needs labels, so none was run");
                    var pj = new JsonObject
                    {
                        ["dataset"] = cfg.Dataset, ["algo"] = cfg.Algo, ["steps"] = pre.Steps, ["final_loss"] = pre.FinalLoss, ["probe"] = "skipped: unlabeled data",
                        ["checkpoint"] = pre.CheckpointPath,
                    };
                    AtomicFile.WriteText(Path.Combine(outDir, "result.json"), pj.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
                    PrintJson(p, pj);
                    return 0;
                }
                foreach (var l in ProbeNotes.SmallClasses(ds)) Console.Error.WriteLine(l);
                Console.Error.WriteLine($"probe: {po.Epochs} epochs on frozen features of the pretrained encoder...");
                var probe = LinearProbe.Run(pre.Model, ds, po);
                Console.Error.WriteLine("probe: the random-init encoder (same seed, same split)...");
                using var baseline = Pretrainer.CreateModel(cfg, device);
                var rnd = LinearProbe.Run(baseline, ds, po);
                Console.Error.WriteLine($"wrote {Plots.ProbeCurve(probe.ValidationCurve, probe.TrainLossCurve, probe.Metric, Path.Combine(outDir, "probe.png"))}");

                var table = new Table().Title($"{cfg.Dataset}: {cfg.Algo}, preset {PresetName(cfg.Model)}, {cfg.Train.Steps} steps, seed {cfg.Train.Seed}")
                    .AddColumn("encoder").AddColumn($"validation {probe.Metric}").AddColumn($"test {probe.Metric}").AddColumn("best epoch");
                table.AddRow(cfg.Algo, $"{probe.Validation:F4}", $"{probe.Test:F4}", $"{probe.BestEpoch}/{probe.Epochs}");
                table.AddRow("random init", $"{rnd.Validation:F4}", $"{rnd.Test:F4}", $"{rnd.BestEpoch}/{rnd.Epochs}");
                AnsiConsole.Write(table);
                var result = new JsonObject
                {
                    ["dataset"] = cfg.Dataset, ["algo"] = cfg.Algo, ["preset"] = PresetName(cfg.Model), ["seed"] = cfg.Train.Seed,
                    ["steps"] = pre.Steps, ["batch"] = cfg.Train.Batch, ["final_loss"] = pre.FinalLoss, ["pretrain_seconds"] = Math.Round(pre.Seconds, 3),
                    ["metric"] = probe.Metric, ["test"] = probe.Test, ["validation"] = probe.Validation,
                    ["random_init_test"] = rnd.Test, ["random_init_validation"] = rnd.Validation,
                    ["test_weighted_f1"] = Num(probe.TestWeightedF1), ["random_init_test_weighted_f1"] = Num(rnd.TestWeightedF1),
                    ["probe_epochs"] = po.Epochs, ["checkpoint"] = pre.CheckpointPath,
                    ["config"] = JsonNode.Parse(cfg.ToJson()), ["data"] = ds.Report?.ToJson(),
                };
                AtomicFile.WriteText(Path.Combine(outDir, "result.json"), result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
                PrintJson(p, result);
                return 0;
            });
            return c;
        }

        static Command DatasetsCommand()
        {
            var c = new Command("datasets", "List the datasets that ship with MetaMae, or with --root DIR the DABS datasets present under DIR");
            c.Add(DataDir);
            c.Add(DabsRoot);
            c.Add(Json);
            c.SetAction(p =>
            {
                if (p.GetValue(DabsRoot) is string dabsRoot) return ListDabs(p, dabsRoot);
                var table = new Table().AddColumn("name").AddColumn("modality").AddColumn("input").AddColumn("classes")
                    .AddColumn("train").AddColumn("test").AddColumn("preset (as)").AddColumn("description");
                var arr = new JsonArray();
                foreach (var e in Catalog.Entries)
                {
                    var ds = Catalog.Load(e.Name, p.GetValue(DataDir));
                    table.AddRow(Markup.Escape(e.Name), Markup.Escape(e.Modality), Markup.Escape(ds.Spec.Describe()),
                        ds.ClassNames.Length.ToString(), ds.Train.Count.ToString(), (ds.Test?.Count ?? 0).ToString(),
                        Markup.Escape(e.Preset.PaperAnalogue), Markup.Escape(e.Description));
                    arr.Add(new JsonObject
                    {
                        ["name"] = e.Name, ["modality"] = e.Modality, ["input"] = ds.Spec.Describe(), ["classes"] = ds.ClassNames.Length,
                        ["train"] = ds.Train.Count, ["test"] = ds.Test?.Count ?? 0, ["paper_analogue"] = e.Preset.PaperAnalogue,
                    });
                }
                if (p.GetValue(Json)) Console.WriteLine(arr.ToJsonString());
                else AnsiConsole.Write(table);
                return 0;
            });
            return c;
        }

        /// <summary>A shipped dataset, or with --root a downloaded DABS dataset.</summary>
        static int ListDabs(ParseResult p, string root)
        {
            if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"--root '{root}' does not exist");
            var table = new Table().AddColumn("name").AddColumn("modality").AddColumn("expected at").AddColumn("present").AddColumn("reader");
            var arr = new JsonArray();
            foreach (var e in DabsCatalog.Entries)
            {
                bool present = e.IsPresentUnder(root);
                table.AddRow(Markup.Escape(e.Name), Markup.Escape(e.Modality), Markup.Escape(e.RelativePath), present ? "yes" : "no", Markup.Escape(e.Reader));
                arr.Add(new JsonObject { ["name"] = e.Name, ["path"] = Path.Combine(root, e.RelativePath), ["present"] = present, ["reader"] = e.Reader });
            }
            if (p.GetValue(Json)) Console.WriteLine(arr.ToJsonString());
            else AnsiConsole.Write(table);
            return 0;
        }

        static Device Setup(ParseResult p)
        {
            int threads = p.GetValue(Threads) ?? Math.Max(1, Environment.ProcessorCount / DistributedCli.LocalRanks());   // mpirun: cores shared by its local ranks
            CpuMath.Configure(threads);
            var d = p.GetValue(DeviceOpt)!;
            if (d == "cpu") return CPU;
            if (d.StartsWith("cuda"))
            {
                if (!cuda.is_available()) throw new ArgumentException($"--device {d}: CUDA is not available (this build uses TorchSharp-cpu; swap in TorchSharp-cuda-linux)");
                return new Device(d);
            }
            throw new ArgumentException($"--device must be cpu or cuda[:N] (got '{d}')");
        }

        static (Dataset, RunConfig, string) Resolve(ParseResult p, string? checkpointSubdir = null)
        {
            var resumeDir = p.GetValue(Out);
            if (p.GetValue(Resume) && resumeDir is not null)
            {
                var ckPath = Path.Combine(checkpointSubdir is null ? resumeDir : Path.Combine(resumeDir, checkpointSubdir), Checkpoint.FileName);
                if (File.Exists(ckPath))
                {
                    // the run's settings come from its checkpoint; only the budget and cadence may change
                    Option[] defining = [Dataset, Algo, Preset, Batch, Seed, MaskRatio, Alpha, Lambda, R, InnerSteps, FirstOrder, DecoderDepth, Dropout, Temperature, Lr];
                    var given = defining.Where(o => p.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
                    if (given.Count > 0)
                        throw new ArgumentException($"--resume continues the run in {resumeDir} with the settings of its checkpoint; drop {string.Join(", ", given)} (only --steps, --save-every and --log-every may change)");
                    using var ck = Checkpoint.Load(ckPath);
                    var c = ck.Config with
                    {
                        Train = ck.Config.Train with
                        {
                            Steps = p.GetValue(Steps) ?? ck.Config.Train.Steps, SaveEvery = p.GetValue(SaveEvery), LogEvery = p.GetValue(LogEvery),
                        },
                    };
                    var resumed = c.Dataset;
                    return (LoadData(p, ref resumed, out _), c, resumeDir);
                }
            }
            var name = p.GetValue(Dataset) ?? "dna-splice";
            var ds = LoadData(p, ref name, out var preset);
            var algo = p.GetValue(Algo)!;
            var presetName = p.GetValue(Preset)!;
            var model = ModelConfig.FromPreset(presetName) with
            {
                DecDepth = p.GetValue(DecoderDepth) ?? preset.DecoderDepth,
                Dropout = p.GetValue(Dropout) ?? preset.Dropout,
            };
            var baseline = Baselines.Algorithms.Contains(algo) ? Baselines.Defaults(algo) : ((double, double)?)null;
            var obj = preset.Objective(algo == "metamae") with
            {
                MaskRatio = p.GetValue(MaskRatio) ?? baseline?.Item1 ?? preset.MaskRatio,
                Alpha = p.GetValue(Alpha) ?? preset.Alpha,
                Lambda = algo != "metamae" ? 0 : p.GetValue(Lambda) ?? preset.Lambda,
                NearbyRatio = p.GetValue(R) ?? 0.1,
                InnerSteps = p.GetValue(InnerSteps) ?? 1,
                SecondOrder = !p.GetValue(FirstOrder),
                Temperature = p.GetValue(Temperature) ?? baseline?.Item2 ?? 0.5,
            };
            long seed = p.GetValue(Seed);
            var train = new TrainOptions
            {
                Steps = p.GetValue(Steps) ?? 1000, Batch = DefaultBatch(p.GetValue(Batch), preset.Batch, ds.Train.Count), Seed = seed,
                Lr = p.GetValue(Lr) ?? 1e-4, SaveEvery = p.GetValue(SaveEvery), LogEvery = p.GetValue(LogEvery),
            };
            var cfg = new RunConfig(algo, name, ds.Spec, model, obj, train);
            var outDir = p.GetValue(Out) ?? Path.Combine("runs", $"{SafeRunName(p, name)}-{algo}-{presetName}-s{seed}");
            return (ds, cfg, outDir);
        }

        /// <summary>The shipped dataset NAME, or the user's --data (named byo:FILE) with the preset of its modality.</summary>
        static Dataset LoadData(ParseResult p, ref string name, out DatasetPreset preset)
        {
            var path = p.GetValue(DataOpt);
            if (path is null && p.GetValue(DabsRoot) is string root)
            {
                preset = DabsCatalog.Get(name).Preset;
                return DabsCatalog.Load(name, root, new DabsOptions { MaxPerSplit = p.GetValue(MaxPerSplit) });
            }
            if (path is null && !name.StartsWith("byo:"))
            {
                preset = Catalog.Get(name).Preset;
                return Catalog.Load(name, p.GetValue(DataDir));
            }
            if (path is null) throw new ArgumentException($"dataset '{name}' was your own data: pass it again with --data PATH --modality M");
            var modality = p.GetValue(ModalityOpt) ?? throw new ArgumentException($"--data needs --modality ({string.Join("|", ByoData.Modalities)})");
            var ds = ByoData.Load(path, new ByoOptions
            {
                Modality = modality, LabelColumn = p.GetValue(LabelColumn), SplitColumn = p.GetValue(SplitColumn)!,
                Alphabet = p.GetValue(AlphabetOpt), Patch = p.GetValue(PatchOpt), Length = p.GetValue(LengthOpt),
                IdColumn = p.GetValue(IdColumn), IgnoreColumns = IgnoreList(p), Missing = MissingOf(p), DataDir = p.GetValue(DataDir),
            });
            name = ds.Name;
            preset = ByoPreset(modality);
            ReportByo(ds, modality, preset);
            return ds;
        }

        static DatasetPreset ByoPreset(string modality) => modality switch
        {
            "tabular" => Catalog.Higgs, "sequence" or "tokens" => Catalog.Pfam, "image" => Catalog.ImageNet32,
            "audio" => Catalog.LibriSpeech, "image-caption" => Catalog.Mscoco, _ => Catalog.Pamap2,
        };

        static DatasetPreset PresetOf(ParseResult p, string name) =>
            name.StartsWith("byo:") ? ByoPreset(p.GetValue(ModalityOpt) ?? "series")
            : p.GetValue(DabsRoot) is not null ? DabsCatalog.Get(name).Preset : Catalog.Get(name).Preset;

        static ProbeOptions ProbeOpts(ParseResult p, DatasetPreset preset) => new()
        {
            Epochs = p.GetValue(ProbeEpochs), Batch = p.GetValue(ProbeBatch) ?? preset.ProbeBatch, Seed = p.GetValue(Seed),
        };

        static string PresetName(ModelConfig m) =>
            ModelConfig.PresetNames.FirstOrDefault(n => ModelConfig.FromPreset(n) with { DecDepth = m.DecDepth, Dropout = m.Dropout } == m) ?? "custom";

        static JsonNode? Num(double v) => double.IsNaN(v) ? null : JsonValue.Create(v);

        static void PrintJson(ParseResult p, JsonObject o)
        {
            if (p.GetValue(Json)) Console.WriteLine(o.ToJsonString());
        }
    }
}
