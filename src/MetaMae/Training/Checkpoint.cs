using MetaMae.Model;
using TorchSharp;
using static TorchSharp.torch;
using MetaMae.IO;

namespace MetaMae.Training;

/// <summary>
/// A checkpoint is one safetensors file: the model's state_dict under "model.", the optimizer's
/// moments under "optim.", and in the metadata the run configuration (JSON) and the number of
/// completed steps. Written atomically, so a kill leaves the previous checkpoint intact.
/// </summary>
public static class Checkpoint
{
    public const string FileName = "checkpoint.safetensors";
    /// <summary>Version 2 adds the CRC-32 (SafeTensors.ChecksumKey), which it requires; version 1 files still load.</summary>
    public const string FormatVersion = "2";

    public static void Save(string path, MetaMaeModel model, AdamW? optimizer, RunConfig config, int step, double lastLoss,
        nn.Module? objectiveHead = null)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (k, v) in model.state_dict()) tensors.Add(new("model." + k, v));
        if (objectiveHead is not null) foreach (var (k, v) in objectiveHead.state_dict()) tensors.Add(new("objective." + k, v));
        if (optimizer is not null) foreach (var kv in optimizer.StateTensors()) tensors.Add(new("optim." + kv.Key, kv.Value));
        var meta = new Dictionary<string, string>
        {
            ["format"] = "metamae",
            ["format_version"] = FormatVersion,
            ["config"] = config.ToJson(),
            ["step"] = step.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["last_loss"] = lastLoss.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        };
        SafeTensors.Save(path, tensors, meta);
    }

    public sealed record Loaded(RunConfig Config, int Step, Dictionary<string, Tensor> Tensors) : IDisposable
    {
        public void Dispose() { foreach (var t in Tensors.Values) t.Dispose(); }

        public Dictionary<string, Tensor> Prefixed(string prefix) =>
            Tensors.Where(kv => kv.Key.StartsWith(prefix)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
    }

    public static Loaded Load(string path)
    {
        var (tensors, meta) = SafeTensors.Load(path);
        if (!meta.TryGetValue("format", out var f) || f != "metamae" || !meta.TryGetValue("config", out var cfg))
            throw new InvalidDataException($"{path}: not a MetaMae checkpoint (no 'format: metamae' / 'config' metadata)");
        var version = meta.GetValueOrDefault("format_version");
        if (version != FormatVersion && version != "1")
            throw new InvalidDataException($"{path}: checkpoint format version {version} is not supported (expected 1 or {FormatVersion})");
        if (version == FormatVersion && !meta.ContainsKey(SafeTensors.ChecksumKey))
            throw new InvalidDataException($"{path}: the checksum ('{SafeTensors.ChecksumKey}' metadata) is missing: the file is damaged");
        if (!int.TryParse(meta.GetValueOrDefault("step"), out var step))
            throw new InvalidDataException($"{path}: metadata 'step' is missing or not an integer");
        return new Loaded(RunConfig.FromJson(cfg, path), step, tensors);
    }

    /// <summary>Loads the "model." tensors into a model; every key must match in name and shape.</summary>
    public static void LoadModel(MetaMaeModel model, Loaded ckpt, string source)
    {
        var sd = ckpt.Prefixed("model.");
        var own = model.state_dict();
        var missing = own.Keys.Except(sd.Keys).ToList();
        var extra = sd.Keys.Except(own.Keys).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new InvalidDataException($"{source}: checkpoint does not fit the model (missing: " +
                $"{string.Join(", ", missing.Take(5))}; unexpected: {string.Join(", ", extra.Take(5))})");
        foreach (var (k, v) in own)
            if (!v.shape.SequenceEqual(sd[k].shape))
                throw new InvalidDataException($"{source}: '{k}' has shape ({string.Join(",", sd[k].shape)}), " +
                    $"the model expects ({string.Join(",", v.shape)})");
        using var _ = no_grad();
        foreach (var (k, v) in own) v.copy_(sd[k]);
    }

    /// <summary>Loads the "objective." tensors (a baseline's own head) into its module; every key must match.</summary>
    public static void LoadObjectiveHead(nn.Module head, Loaded ckpt, string source)
    {
        var sd = ckpt.Prefixed("objective.");
        using var _ = no_grad();
        foreach (var (k, v) in head.state_dict())
        {
            if (!sd.TryGetValue(k, out var t))
                throw new InvalidDataException($"{source}: checkpoint lacks the objective head tensor 'objective.{k}'");
            if (!v.shape.SequenceEqual(t.shape))
                throw new InvalidDataException($"{source}: 'objective.{k}' has shape ({string.Join(",", t.shape)}), " +
                    $"the head expects ({string.Join(",", v.shape)})");
            v.copy_(t);
        }
    }

    /// <summary>Builds the model a checkpoint describes and loads its weights.</summary>
    public static MetaMaeModel LoadModel(string path, Device? device = null)
    {
        using var ck = Load(path);
        var model = new MetaMaeModel(ck.Config.Spec, ck.Config.Model);
        var dtype = ck.Tensors.TryGetValue("model.cls_token", out var c) ? c.dtype : ScalarType.Float32;
        if (dtype != ScalarType.Float32) model.to(dtype);
        LoadModel(model, ck, path);
        if (device is not null) model.to(device);
        return model;
    }
}
