using Google.Protobuf;
using MetaMae.Evaluation;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Training;
using Onnx;
using static TorchSharp.torch;
using MetaMae.IO;

namespace MetaMae.Interop;

/// <summary>
/// The frozen encoder plus one feature step (<see cref="FeatureKind"/>) as one ONNX graph (opset <see cref="Opset"/>):
/// raw input (batch, ..RawShape) -> features (batch, D) or (batch, L, D), the batch axis dynamic. The graph is the
/// math of <see cref="FeatureExtraction.Of"/> in eval mode (no dropout): NaN -> 0 as <see cref="Data.Missing.Impute"/>,
/// the spec's patchify, token embedding (+ input-type rows for multi-input specs), sin-cos positions, CLS, pre-LN
/// blocks with explicit attention (MatMul, Softmax) and exact (erf) GELU, the final LayerNorm, then mean / CLS /
/// tokens. Built with OnnxSharp's protobuf classes (generated from onnx.proto3), not hand-written bytes.
/// What the file holds is described by its metadata_props (<see cref="OnnxModelInfo"/>).
/// </summary>
public static class OnnxExport
{
    /// <summary>The ONNX operator set: 17 is the first with LayerNormalization.</summary>
    public const int Opset = 17;
    /// <summary>The IR version that goes with opset 17 (ONNX 1.12).</summary>
    public const long IrVersion = 8;
    public const string InputName = "input";
    public const string OutputName = "features";

    /// <summary>Writes the ONNX model of model's encoder with the given features to path (atomically).</summary>
    public static OnnxModelInfo Export(MetaMaeModel model, FeatureKind features, string path, string? dataset = null)
    {
        var (proto, info) = Build(model, features, dataset);
        AtomicFile.Write(path, s => proto.WriteTo(s));
        return info;
    }

    /// <summary>The ONNX model and what its metadata says.</summary>
    public static (ModelProto Model, OnnxModelInfo Info) Build(MetaMaeModel model, FeatureKind features, string? dataset = null)
    {
        var spec = model.Spec;
        var cfg = model.Config;
        var info = OnnxModelInfo.For(spec, cfg, features, dataset);
        var w = Weights(model);
        var g = new OnnxGraph("metamae_encoder");
        g.Graph.Input.Add(OnnxGraph.Value(InputName, info.InputType, info.InputShape));
        g.Graph.Output.Add(OnnxGraph.Value(OutputName, OnnxElementType.Float32, info.OutputShape));
        var x = info.InputType == OnnxElementType.Float32 ? Impute(g, InputName) : InputName;
        var h = Embed(g, spec, x, w, cfg.EncDim);                                         // (N, L, D)
        var encoded = Encoder(g, h, w, cfg);                                               // (N, 1+L, D)
        long big = long.MaxValue;
        switch (features)
        {
            case FeatureKind.Mean:
                var tokens = g.Op("Slice", [encoded, g.Ints("one", 1), g.Ints("end", big), g.Ints("axis", 1)]);
                g.OpNamed("ReduceMean", OutputName, [tokens], ("axes", new long[] { 1 }), ("keepdims", 0L));
                break;
            case FeatureKind.Cls:
                g.OpNamed("Gather", OutputName, [encoded, g.IntScalar("cls", 0)], ("axis", 1L));
                break;
            default:
                g.OpNamed("Slice", OutputName, [encoded, g.Ints("one", 1), g.Ints("end", big), g.Ints("axis", 1)]);
                break;
        }
        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = OnnxModelInfo.Producer,
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "",
            DocString = $"MetaMae encoder ({spec.Describe()}), {FeatureExtraction.Name(features)} features",
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (k, v) in info.Metadata())
            proto.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return (proto, info);
    }

    // the encoder's state_dict as float32 arrays with their shapes
    private static Dictionary<string, (float[] Data, long[] Shape)> Weights(MetaMaeModel model)
    {
        var d = new Dictionary<string, (float[], long[])>();
        foreach (var (k, t) in model.state_dict())
        {
            if (ReferenceFormat.PartOf(k) != ModelParts.Encoder) continue;
            using var c = t.detach().cpu().to(ScalarType.Float32).contiguous();
            d[k] = (c.data<float>().ToArray(), c.shape);
        }
        return d;
    }

    // a Linear weight (out, in) stored transposed (in, out) for MatMul
    private static string WeightT(OnnxGraph g, Dictionary<string, (float[] Data, long[] Shape)> w, string key,
        long rowStart = 0, long rows = -1)
    {
        var (data, shape) = w[key];
        long outDim = rows < 0 ? shape[0] : rows, inDim = shape[1];
        var t = new float[outDim * inDim];
        for (long o = 0; o < outDim; o++)
            for (long i = 0; i < inDim; i++) t[i * outDim + o] = data[(rowStart + o) * inDim + i];
        var name = rows < 0 ? key + ".T" : $"{key}[{rowStart}:{rowStart + outDim}].T";
        return g.Weight(name, t, inDim, outDim);
    }

    private static string Param(OnnxGraph g, Dictionary<string, (float[] Data, long[] Shape)> w, string key) =>
        g.Weight(key, w[key].Data, w[key].Shape);

    private static string Linear(OnnxGraph g, Dictionary<string, (float[] Data, long[] Shape)> w, string x, string prefix)
    {
        var y = g.Op("MatMul", [x, WeightT(g, w, prefix + ".weight")]);
        return w.ContainsKey(prefix + ".bias") ? g.Op("Add", [y, Param(g, w, prefix + ".bias")]) : y;
    }

    // x with NaN -> 0 and +-inf -> +-float.MaxValue, as torch's nan_to_num(0) (Missing.Impute)
    private static string Impute(OnnxGraph g, string x)
    {
        var zero = g.Scalar("zero", 0f);
        var clean = g.Op("Where", [g.Op("IsNaN", [x]), zero, x]);
        return g.Op("Clip", [clean, g.Scalar("lowest", float.MinValue), g.Scalar("highest", float.MaxValue)]);
    }

    /// <summary>Token embedding plus positions: raw (N, ..RawShape) -> (N, L, D), as model.Embed(spec.Patchify(raw)).</summary>
    private static string Embed(OnnxGraph g, InputSpec spec, string x, Dictionary<string, (float[] Data, long[] Shape)> w,
        int d)
    {
        string e;
        if (spec is MultiInputSpec multi)
        {
            var parts = new List<string>();
            var segs = multi.Segments;
            for (int i = 0; i < segs.Count; i++)
            {
                var (_, _, input, ro, rl) = segs[i];
                var seg = g.Op("Slice", [x, g.Ints("start", ro), g.Ints("end", ro + rl), g.Ints("axis", 1)]);  // (N, rl)
                if (input.IsDiscrete) seg = g.Op("Cast", [g.Op("Round", [seg])], ("to", (long)OnnxElementType.Int64));
                var raw = g.Op("Reshape", [seg, g.Ints("shape", [-1, .. input.RawShape])]);             // (N, ..RawShape_i)
                parts.Add(TokenEmbedding(g, input, raw, w, $"embed.embeds.{i}"));                        // (N, L_i, D)
            }
            var types = w["embed.type_embed"];                                                            // (inputs, D)
            var rows = new float[multi.NumTokens * d];
            int at = 0;
            for (int i = 0; i < segs.Count; i++)
                for (int t = 0; t < segs[i].Length; t++, at++) Array.Copy(types.Data, i * d, rows, at * d, d);
            e = g.Op("Add", [g.Op("Concat", parts.ToArray(), ("axis", 1L)),
                             g.Weight("embed.type_embed.rows", rows, 1, multi.NumTokens, d)]);            // (N, L, D)
        }
        else e = TokenEmbedding(g, spec, x, w, "embed");
        var pos = w["pos_embed"];                                                                         // (1, 1+L, D)
        return g.Op("Add", [e, g.Weight("pos_embed.tokens", pos.Data[d..], 1, pos.Shape[1] - 1, d)]);
    }

    // one input's raw (N, ..RawShape) -> patchified tokens -> (N, L, D)
    private static string TokenEmbedding(OnnxGraph g, InputSpec spec, string raw,
        Dictionary<string, (float[] Data, long[] Shape)> w, string prefix)
    {
        if (spec.IsDiscrete) return g.Op("Gather", [Param(g, w, prefix + ".weight"), raw], ("axis", 0L));  // ids (N, L)
        return Linear(g, w, Patchify(g, spec, raw), prefix);
    }

    /// <summary>InputSpec.Patchify in ONNX: (N, ..RawShape) -> (N, L, P).</summary>
    private static string Patchify(OnnxGraph g, InputSpec spec, string raw)
    {
        switch (spec)
        {
            case SequenceSpec s:
            {
                long l = s.Length / s.PatchLength;
                // (N, C, T) -> (N, C, L, p) -> (N, L, p, C) -> (N, L, p*C)
                var v = g.Op("Reshape", [raw, g.Ints("shape", -1, s.Channels, l, s.PatchLength)]);
                var p = g.Op("Transpose", [v], ("perm", new long[] { 0, 2, 3, 1 }));
                return g.Op("Reshape", [p, g.Ints("shape", -1, l, s.TokenWidth)]);
            }
            case GridSpec gs:
            {
                var (gh, gw) = gs.TokenGrid;
                // (N, C, gh, ph, gw, pw) -> (N, gh, gw, ph, pw, C) -> (N, gh*gw, ph*pw*C)
                var v = g.Op("Reshape", [raw, g.Ints("shape", -1, gs.Channels, gh, gs.PatchH, gw, gs.PatchW)]);
                var p = g.Op("Transpose", [v], ("perm", new long[] { 0, 2, 4, 3, 5, 1 }));
                return g.Op("Reshape", [p, g.Ints("shape", -1, (long)gh * gw, gs.TokenWidth)]);
            }
            case TabularSpec:
                return g.Op("Unsqueeze", [raw, g.Ints("axis", -1)]);                                      // (N, F, 1)
            default:
                throw new NotSupportedException($"ONNX export: no patchify for {spec.Describe()}");
        }
    }

    /// <summary>CLS, the blocks and the final LayerNorm: h (N, L, D) -> (N, 1+L, D), as MetaMaeModel.Encode.</summary>
    private static string Encoder(OnnxGraph g, string h, Dictionary<string, (float[] Data, long[] Shape)> w, ModelConfig cfg)
    {
        int d = cfg.EncDim;
        var cls = w["cls_token"].Data.Zip(w["pos_embed"].Data.Take(d), (c, p) => c + p).ToArray();       // (1, 1, D)
        var batch = g.Op("Slice", [g.Op("Shape", [h]), g.Ints("zero", 0), g.Ints("one", 1), g.Ints("axis", 0)]);
        var clsShape = g.Op("Concat", [batch, g.Ints("one_d", 1, d)], ("axis", 0L));                     // [N, 1, D]
        var clsRows = g.Op("Expand", [g.Weight("cls_token.with_pos", cls, 1, 1, d), clsShape]);            // (N, 1, D)
        var x = g.Op("Concat", [clsRows, h], ("axis", 1L));                                                  // (N, 1+L, D)
        float eps = (float)cfg.LayerNormEps;
        for (int b = 0; b < cfg.EncDepth; b++)
        {
            var p = $"blocks.{b}";
            x = g.Op("Add", [x, Attention(g, LayerNorm(g, w, x, p + ".norm1", eps), w, p + ".attn", d, cfg.EncHeads)]);
            var m = Linear(g, w, LayerNorm(g, w, x, p + ".norm2", eps), p + ".mlp.fc1");                 // (N, S, hidden)
            x = g.Op("Add", [x, Linear(g, w, Gelu(g, m), p + ".mlp.fc2")]);
        }
        return LayerNorm(g, w, x, "norm", eps);
    }

    private static string LayerNorm(OnnxGraph g, Dictionary<string, (float[] Data, long[] Shape)> w, string x, string prefix,
        float eps) =>
        g.Op("LayerNormalization", [x, Param(g, w, prefix + ".weight"), Param(g, w, prefix + ".bias")],
            ("axis", -1L), ("epsilon", eps));

    // exact GELU (torch's default): 0.5 x (1 + erf(x / sqrt 2))
    private static string Gelu(OnnxGraph g, string x)
    {
        var erf = g.Op("Erf", [g.Op("Div", [x, g.Scalar("sqrt2", MathF.Sqrt(2f))])]);
        return g.Op("Mul", [g.Op("Mul", [x, g.Op("Add", [erf, g.Scalar("one", 1f)])]), g.Scalar("half", 0.5f)]);
    }

    /// <summary>SelfAttention.forward's explicit form: x (N, S, C) -> (N, S, C).</summary>
    private static string Attention(OnnxGraph g, string x, Dictionary<string, (float[] Data, long[] Shape)> w, string prefix,
        int c, int heads)
    {
        int hd = c / heads;
        // qkv weight (3C, C): rows [0, C) make q, [C, 2C) k, [2C, 3C) v, each head-major (SelfAttention's view(.., 3, H, hd))
        string Heads(int which, long[] perm)
        {
            var y = g.Op("MatMul", [x, WeightT(g, w, prefix + ".qkv.weight", which * c, c)]);              // (N, S, C)
            var split = g.Op("Reshape", [y, g.Ints("shape", 0, 0, heads, hd)]);                           // (N, S, H, hd)
            return g.Op("Transpose", [split], ("perm", perm));
        }
        var q = Heads(0, [0, 2, 1, 3]);                                                                     // (N, H, S, hd)
        var kT = Heads(1, [0, 2, 3, 1]);                                                                    // (N, H, hd, S)
        var v = Heads(2, [0, 2, 1, 3]);                                                                     // (N, H, S, hd)
        var scores = g.Op("Mul", [g.Op("MatMul", [q, kT]), g.Scalar("scale", (float)(1.0 / Math.Sqrt(hd)))]); // (N, H, S, S)
        var o = g.Op("MatMul", [g.Op("Softmax", [scores], ("axis", -1L)), v]);                             // (N, H, S, hd)
        var merged = g.Op("Reshape", [g.Op("Transpose", [o], ("perm", new long[] { 0, 2, 1, 3 })),
                                      g.Ints("shape", 0, 0, c)]);                                           // (N, S, C)
        return Linear(g, w, merged, prefix + ".proj");
    }
}
