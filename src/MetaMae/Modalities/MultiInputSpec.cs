using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace MetaMae.Modalities;

/// <summary>
/// A sample made of several inputs (e.g. an image grid and a word-piece sequence). The raw sample
/// is ONE float vector: the concatenation of each input's flattened raw sample (token ids stored as
/// floats, exact below 2^24). Tokens are packed along the token axis: (B, L_total, W) float with
/// W = the widest token (a discrete input's id sits in column 0; unused columns are 0).
/// Nearby-S works inside each input's own token grid; the model gives each input its own
/// embedding, positions and head (see MetaMaeModel).
/// </summary>
public sealed record MultiInputSpec(IReadOnlyList<InputSpec> Inputs) : InputSpec
{
    /// <summary>Where each input's tokens sit in the packed token axis, and where its raw values sit in the packed raw vector.</summary>
    [JsonIgnore]
    public IReadOnlyList<(int Offset, int Length, InputSpec Input, long RawOffset, long RawLength)> Segments
    {
        get
        {
            var s = new List<(int, int, InputSpec, long, long)>();
            int off = 0;
            long raw = 0;
            foreach (var i in Inputs)
            {
                long n = i.RawShape.Aggregate(1L, (a, b) => a * b);
                s.Add((off, i.NumTokens, i, raw, n));
                off += i.NumTokens;
                raw += n;
            }
            return s;
        }
    }

    [JsonIgnore] public override long[] RawShape => [Segments.Sum(s => s.RawLength)];
    /// <summary>(1, L_total): only the packed length; positions and Nearby-S use each input's own grid.</summary>
    [JsonIgnore] public override (int Rows, int Cols) TokenGrid => (1, Inputs.Sum(i => i.NumTokens));
    /// <summary>Packed tokens are real-valued (ids as floats); the model treats each input by its own kind.</summary>
    [JsonIgnore] public override bool IsDiscrete => false;
    /// <summary>Packed token width W: the widest continuous token, 1 for a discrete input's id.</summary>
    [JsonIgnore] public override int TokenWidth => Inputs.Max(i => i.IsDiscrete ? 1 : i.TokenWidth);

    public override Tensor Patchify(Tensor raw)
    {
        CheckBatch(raw);
        if (!raw.is_floating_point())
            throw new ArgumentException($"a multi-input batch is packed as floats (token ids stored as floats), got {raw.dtype}");
        long b = raw.shape[0];
        int w = TokenWidth;
        var parts = new List<Tensor>();
        foreach (var (_, len, input, ro, rl) in Segments)
        {
            var seg = raw.narrow(1, ro, rl).reshape([b, .. input.RawShape]);
            Tensor t;
            if (input.IsDiscrete)
            {
                var ids = seg.round().to(ScalarType.Int64);
                t = input.Patchify(ids).to(raw.dtype).unsqueeze(-1);                 // (B, L_i, 1)
            }
            else t = input.Patchify(seg);                                             // (B, L_i, P_i)
            if (t.shape[2] < w) t = functional_pad(t, w);
            parts.Add(t);
        }
        return cat(parts, 1);
    }

    private static Tensor functional_pad(Tensor t, int w) =>
        cat([t, zeros(t.shape[0], t.shape[1], w - t.shape[2], dtype: t.dtype, device: t.device)], 2);

    public override Tensor Unpatchify(Tensor tokens)
    {
        long b = tokens.shape[0];
        var parts = new List<Tensor>();
        for (int i = 0; i < Inputs.Count; i++)
        {
            var input = Inputs[i];
            var u = Unpack(tokens, i);
            var r = input.Unpatchify(u);
            parts.Add((input.IsDiscrete ? r.to(tokens.dtype) : r).reshape(b, -1));
        }
        return cat(parts, 1);
    }

    /// <summary>Input i's tokens in its own format: (B, L_i, P_i) values, or (B, L_i) int64 ids.</summary>
    public Tensor Unpack(Tensor tokens, int i)
    {
        var (off, len, input, _, _) = Segments[i];
        var seg = tokens.narrow(1, off, len);
        return input.IsDiscrete ? seg.select(2, 0).round().to(ScalarType.Int64) : seg.narrow(2, 0, input.TokenWidth);
    }

    /// <summary>Nearby-S per input: each input's own rule on its own segment of the (B, L_total) mask.</summary>
    public override Tensor NearbyMasked(Tensor mask)
    {
        using var scope = NewDisposeScope();
        var parts = Segments.Select(s => s.Input.NearbyMasked(mask.narrow(1, s.Offset, s.Length).contiguous())).ToList();
        return cat(parts, 1).MoveToOuterDisposeScope();
    }

    public override string Describe() =>
        $"{Inputs.Count} inputs -> {NumTokens} tokens: " + string.Join(" + ", Inputs.Select(i => i.Describe()));

    public override void Validate()
    {
        if (Inputs is null || Inputs.Count < 2)
            throw new ArgumentException($"multi-input spec: needs at least 2 inputs (got {Inputs?.Count ?? 0})");
        for (int i = 0; i < Inputs.Count; i++)
        {
            if (Inputs[i] is MultiInputSpec) throw new ArgumentException($"multi-input spec: input {i} is itself multi-input; nest flat");
            try { Inputs[i].Validate(); }
            catch (ArgumentException e) { throw new ArgumentException($"multi-input spec, input {i}: {e.Message}"); }
            if (Inputs[i] is TokenSpec ts && ts.Vocab > (1 << 24))
                throw new ArgumentException($"multi-input spec, input {i}: vocabulary {ts.Vocab} exceeds 2^24, " +
                    "ids would not be exact as floats");
        }
    }

    // value equality over the inputs (a record compares lists by reference)
    public bool Equals(MultiInputSpec? other) => other is not null && Inputs.SequenceEqual(other.Inputs);
    public override int GetHashCode() => Inputs.Aggregate(17, (h, i) => h * 31 + i.GetHashCode());
}
