using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Training;
using TorchSharp;
using static TorchSharp.torch;
using MetaMae.IO;

namespace MetaMae.Interop;

/// <summary>Which parts of the model an export holds.</summary>
[Flags]
public enum ModelParts
{
    Encoder = 1,
    Decoder = 2,
    Projector = 4,
    All = Encoder | Decoder | Projector,
}

/// <summary>
/// Weights in the key names and tensor layouts of the PyTorch reference model (timm / MAE style):
/// <c>cls_token</c>, <c>pos_embed</c>, <c>patch_embed.proj.weight</c>, <c>blocks.N.norm1.weight</c>,
/// <c>blocks.N.attn.qkv.weight</c>, <c>blocks.N.attn.proj.weight</c>, <c>blocks.N.mlp.fc1.weight</c>,
/// <c>norm.weight</c>, <c>decoder_embed.weight</c>, <c>mask_token</c>, <c>decoder_pos_embed</c>,
/// <c>decoder_blocks.N...</c>, <c>decoder_norm.*</c>, <c>decoder_pred.*</c>, <c>projector.{0,1,3}.*</c>.
/// </summary>
/// <remarks>
/// Every name but the token embedding is already the reference's (our modules carry timm's
/// names), and Linear weights are (out, in) in both. The token embedding is the one place where
/// names and layouts differ, by spec:
/// <list type="bullet">
/// <item>GridSpec: <c>patch_embed.proj.weight</c> in MAE's Conv2d layout (D, C, ph, pw), bias (D).
/// Our Linear sees a patch in (ph, pw, C) order, so weight (D, ph*pw*C) is viewed (D, ph, pw, C)
/// and permuted to (D, C, ph, pw).</item>
/// <item>SequenceSpec: <c>patch_embed.proj.weight</c> in Conv1d layout (D, C, p) (kernel = stride =
/// patch length), permuted from our (p, C) token order.</item>
/// <item>TabularSpec: <c>patch_embed.proj.weight</c> in Linear layout (D, 1): one value per token.</item>
/// <item>TokenSpec: <c>patch_embed.weight</c>, an nn.Embedding table (V, D); the reconstruction head
/// is tied to it (logits = decoder_pred(x) @ patch_embed.weight^T).</item>
/// </list>
/// The sin-cos tables <c>pos_embed</c> and <c>decoder_pos_embed</c> are exported (fixed, as MAE's
/// requires_grad=False parameters) and checked, not loaded, on import. The file's metadata holds
/// the run configuration (<c>metamae_config</c>) so that an export can be imported without flags.
/// </remarks>
public static class ReferenceFormat
{
    public const string ConfigKey = "metamae_config";
    public const string FormatKey = "format";
    public const string FormatName = "metamae-reference";

    /// <summary>Parses "encoder,decoder,projector" (any subset) into <see cref="ModelParts"/>.</summary>
    public static ModelParts ParseParts(string s)
    {
        ModelParts parts = 0;
        foreach (var raw in s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            parts |= raw switch
            {
                "encoder" => ModelParts.Encoder,
                "decoder" => ModelParts.Decoder,
                "projector" => ModelParts.Projector,
                "all" => ModelParts.All,
                _ => throw new ArgumentException(
                    $"--parts: unknown part '{raw}' (expected a comma list of encoder, decoder, projector, or all)"),
            };
        }
        if (parts == 0) throw new ArgumentException("--parts: empty (expected a comma list of encoder, decoder, projector)");
        return parts;
    }

    /// <summary>The part a state_dict key of our model belongs to.</summary>
    public static ModelParts PartOf(string ourKey) =>
        ourKey.StartsWith("decoder_") || ourKey == "mask_token" ? ModelParts.Decoder
        : ourKey.StartsWith("projector.") ? ModelParts.Projector
        : ModelParts.Encoder;

    /// <summary>Reference name of one of our state_dict keys.</summary>
    public static string ReferenceName(InputSpec spec, string ourKey) => ourKey switch
    {
        "embed.weight" => spec.IsDiscrete ? "patch_embed.weight" : "patch_embed.proj.weight",
        "embed.bias" => "patch_embed.proj.bias",
        _ => ourKey,
    };

    /// <summary>Our tensor (layout of our modules) to the reference layout; a new tensor.</summary>
    public static Tensor ToReferenceLayout(InputSpec spec, string ourKey, Tensor t)
    {
        if (ourKey != "embed.weight") return t.detach().clone();
        long d = t.shape[0];
        return spec switch
        {
            GridSpec g => t.detach().view(d, g.PatchH, g.PatchW, g.Channels).permute(0, 3, 1, 2).contiguous(),
            SequenceSpec s => t.detach().view(d, s.PatchLength, s.Channels).permute(0, 2, 1).contiguous(),
            _ => t.detach().clone(),
        };
    }

    /// <summary>Reference layout back to ours (inverse of <see cref="ToReferenceLayout"/>).</summary>
    public static Tensor FromReferenceLayout(InputSpec spec, string ourKey, Tensor t)
    {
        if (ourKey != "embed.weight") return t.detach().clone();
        long d = t.shape[0];
        return spec switch
        {
            GridSpec g when t.dim() == 4 => t.detach().permute(0, 2, 3, 1).reshape(d, g.PatchH * g.PatchW * g.Channels).contiguous(),
            SequenceSpec s when t.dim() == 3 => t.detach().permute(0, 2, 1).reshape(d, s.PatchLength * s.Channels).contiguous(),
            _ => t.detach().clone(),
        };
    }

    /// <summary>Expected reference shape of one of our tensors.</summary>
    public static long[] ReferenceShape(InputSpec spec, string ourKey, long[] ourShape) => (ourKey, spec) switch
    {
        ("embed.weight", GridSpec g) => [ourShape[0], g.Channels, g.PatchH, g.PatchW],
        ("embed.weight", SequenceSpec s) => [ourShape[0], s.Channels, s.PatchLength],
        _ => ourShape,
    };

    /// <summary>The model's weights of the given parts under reference names and layouts (new tensors, CPU).</summary>
    public static List<KeyValuePair<string, Tensor>> ToReference(MetaMaeModel model, ModelParts parts)
    {
        var list = new List<KeyValuePair<string, Tensor>>();
        foreach (var (k, v) in model.state_dict())
        {
            if ((PartOf(k) & parts) == 0) continue;
            list.Add(new(ReferenceName(model.Spec, k), ToReferenceLayout(model.Spec, k, v).cpu()));
        }
        return list;
    }

    /// <summary>Writes the given parts as a safetensors file in the reference format, with the run configuration in its metadata.</summary>
    public static void Export(MetaMaeModel model, RunConfig? config, string path, ModelParts parts = ModelParts.Encoder)
    {
        var tensors = ToReference(model, parts);
        try
        {
            SafeTensors.Save(path, tensors, Metadata(model, config, parts));
        }
        finally
        {
            foreach (var kv in tensors) kv.Value.Dispose();
        }
    }

    /// <summary>
    /// Writes the given parts as a PyTorch state dict (<c>torch.load</c> gives an OrderedDict of the same
    /// reference-named tensors as <see cref="Export"/>); the metadata travels in a record of the archive.
    /// </summary>
    public static void ExportPyTorch(MetaMaeModel model, RunConfig? config, string path,
        ModelParts parts = ModelParts.Encoder)
    {
        var tensors = ToReference(model, parts);
        try
        {
            PyTorchStateDict.Save(path, tensors, Metadata(model, config, parts));
        }
        finally
        {
            foreach (var kv in tensors) kv.Value.Dispose();
        }
    }

    private static Dictionary<string, string> Metadata(MetaMaeModel model, RunConfig? config, ModelParts parts)
    {
        var meta = new Dictionary<string, string>
        {
            [FormatKey] = FormatName,
            ["parts"] = string.Join(",", Enum.GetValues<ModelParts>()
                .Where(p => p != ModelParts.All && parts.HasFlag(p))
                .Select(p => p.ToString().ToLowerInvariant())),
            ["spec"] = System.Text.Json.JsonSerializer.Serialize(model.Spec, RunConfig.Json),
        };
        if (config is not null) meta[ConfigKey] = config.ToJson();
        return meta;
    }

    /// <summary>
    /// Reads a reference-format file's tensors and metadata: a PyTorch state dict (a zip archive, or any
    /// <c>.pt</c> / <c>.pth</c> file) or else safetensors.
    /// </summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        var ext = Path.GetExtension(path).ToLowerInvariant();
        return PyTorchStateDict.LooksLikePyTorch(path) || ext is ".pt" or ".pth"
            ? PyTorchStateDict.Load(path)
            : SafeTensors.Load(path);
    }

    /// <summary>
    /// Loads reference-format tensors into a model. Every key of the parts the file holds must be
    /// present with the right shape; keys the model does not know are an error (nothing silently
    /// dropped). Returns the parts that were loaded (a part is loaded when any of its keys is present).
    /// </summary>
    public static ModelParts Load(MetaMaeModel model, IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        var spec = model.Spec;
        var own = model.state_dict();
        var byRef = own.Keys.ToDictionary(k => ReferenceName(spec, k), k => k);
        var unknown = tensors.Keys.Where(k => !byRef.ContainsKey(k)).ToList();
        if (unknown.Count > 0)
            throw new InvalidDataException($"{source}: keys the model does not have: {string.Join(", ", unknown.Take(5))}" +
                $"{(unknown.Count > 5 ? $" (+{unknown.Count - 5} more)" : "")}; " +
                $"the model is {spec.Describe()}, encoder {model.Config.EncDepth}x{model.Config.EncDim}, " +
                $"decoder depth {model.Config.DecDepth}");
        ModelParts present = 0;
        foreach (var k in tensors.Keys) present |= PartOf(byRef[k]);
        if (present == 0) throw new InvalidDataException($"{source}: holds no model weights");
        var missing = own.Keys.Where(k => (PartOf(k) & present) != 0 && !tensors.ContainsKey(ReferenceName(spec, k))).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{source}: missing keys: " +
                $"{string.Join(", ", missing.Take(5).Select(k => ReferenceName(spec, k)))}" +
                $"{(missing.Count > 5 ? $" (+{missing.Count - 5} more)" : "")}");
        foreach (var (k, v) in own)
        {
            var rn = ReferenceName(spec, k);
            if (!tensors.TryGetValue(rn, out var t)) continue;
            var want = ReferenceShape(spec, k, v.shape);
            if (!t.shape.SequenceEqual(want))
                throw new InvalidDataException(
                    $"{source}: '{rn}' has shape ({string.Join(", ", t.shape)}), expected ({string.Join(", ", want)})");
            if (t.is_floating_point() && !t.isfinite().all().item<bool>())
                throw new InvalidDataException($"{source}: '{rn}' holds NaN or infinity");
        }
        using var _ = no_grad();
        foreach (var (k, v) in own)
        {
            var rn = ReferenceName(spec, k);
            if (!tensors.TryGetValue(rn, out var t)) continue;
            using var ours = FromReferenceLayout(spec, k, t).to(v.dtype, v.device);
            if (k.EndsWith("pos_embed"))
            {
                // fixed sin-cos tables: check that the file's agree with ours instead of loading them
                if (!allclose(ours, v, rtol: 1e-4, atol: 1e-5))
                    throw new InvalidDataException($"{source}: '{rn}' differs from the model's fixed sin-cos " +
                        "position table (a different token grid or width?)");
                continue;
            }
            v.copy_(ours);
        }
        return present;
    }

    /// <summary>
    /// Reads a reference-format file (safetensors or a PyTorch state dict, see <see cref="Read"/>) into a new
    /// model. Without our metadata (a file PyTorch wrote), the spec and config must be given.
    /// </summary>
    public static (MetaMaeModel Model, RunConfig? Config, ModelParts Parts) Import(string path, RunConfig? like = null)
    {
        var (tensors, meta) = Read(path);
        try
        {
            RunConfig? cfg = like;
            if (cfg is null && meta.TryGetValue(ConfigKey, out var json)) cfg = RunConfig.FromJson(json, path);
            if (cfg is null)
                throw new ArgumentException($"{path}: no '{ConfigKey}' metadata; say which model it holds " +
                    "(--dataset and --preset, or --like CHECKPOINT)");
            var model = new MetaMaeModel(cfg.Spec, cfg.Model);
            var parts = Load(model, tensors, path);
            return (model, cfg, parts);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }
}
