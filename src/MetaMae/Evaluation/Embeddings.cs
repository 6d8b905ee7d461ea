using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MetaMae.Data;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Training;
using static TorchSharp.torch;
using MetaMae.IO;

namespace MetaMae.Evaluation;

/// <summary>Options of `metamae embed` (<see cref="Embeddings"/>).</summary>
public sealed record EmbedOptions
{
    /// <summary>Which features (mean: the paper's linear-probe features, so the default).</summary>
    public FeatureKind Features { get; init; } = FeatureKind.Mean;
    /// <summary>"train", "test", or null for every sample (train rows first).</summary>
    public string? Split { get; init; }
    /// <summary>Samples per forward pass (no gradients): bounds the memory beside the dataset itself.</summary>
    public int Batch { get; init; } = 256;
}

/// <summary>
/// A frozen encoder as `metamae embed` sees it: the input spec it takes, one sample's feature shape ([D] or [L, D]),
/// and a pass over raw samples (N, ..RawShape) in batches that hands each batch's float32 CPU features and the index of
/// its first row to a callback (inside that batch's dispose scope).
/// </summary>
public sealed record FeatureSource(InputSpec Spec, long[] Shape, Action<Tensor, int, Action<Tensor, long>> Stream)
{
    /// <summary>A TorchSharp model's features of a kind (<see cref="FeatureExtraction.Stream"/>).</summary>
    public static FeatureSource Of(MetaMaeModel model, FeatureKind kind) =>
        new(model.Spec, FeatureExtraction.Shape(model, kind), (x, batch, onBatch) =>
            FeatureExtraction.Stream(model, x, batch, t => FeatureExtraction.Of(model, t, kind), onBatch));
}

/// <summary>What <see cref="Embeddings.Write(MetaMaeModel, Dataset, string, EmbedOptions, Action{long, long}?)"/> wrote.</summary>
public sealed record EmbedResult(string Path, long Rows, long[] FeatureShape, string? RowsFile);

/// <summary>
/// Features of every sample of a dataset, written as they are computed (one batch in memory at a time), with
/// each sample's id, split and label. Format by extension:
/// .csv: columns id, split, label, f0..fK-1 (K = D, or L*D for tokens, token-major);
/// .npy: float32 (N, D) or (N, L, D), plus FILE.rows.csv (id, split, label) beside it;
/// .safetensors: "features" F32 (N, D) or (N, L, D), "label" I64 (N) (class index into metadata "classes", -1
/// without labels) or "target" F32 (regression), "split" U8 (N) (1 = train, 0 = test); metadata "ids"
/// (a JSON array), "classes" (a JSON array) and "features" (the kind).
/// Ids: the reader's (<see cref="Split.Ids"/>), else "train-I" / "test-I" (0-based index in the split).
/// </summary>
public static class Embeddings
{
    public static readonly string[] Extensions = [".csv", ".npy", ".safetensors"];

    sealed record Row(string Id, bool Train, string Label, long ClassId, float Target);

    public static EmbedResult Write(MetaMaeModel model, Dataset ds, string path, EmbedOptions o, Action<long, long>? progress = null) =>
        Write(FeatureSource.Of(model, o.Features), ds, path, o, progress);

    /// <summary>As <see cref="Write(MetaMaeModel, Dataset, string, EmbedOptions, Action{long, long}?)"/> with features from any
    /// source (e.g. an exported ONNX encoder); o.Features only names the kind in the output.</summary>
    public static EmbedResult Write(FeatureSource src, Dataset ds, string path, EmbedOptions o, Action<long, long>? progress = null)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (!Extensions.Contains(ext))
            throw new ArgumentException($"--out '{path}': expected a file ending in {string.Join(", ", Extensions)}");
        if (o.Batch < 1) throw new ArgumentException($"--batch must be >= 1 (got {o.Batch})");
        if (o.Split is not (null or "train" or "test")) throw new ArgumentException($"--split must be train or test (got '{o.Split}')");
        if (ds.Spec != src.Spec)
            throw new ArgumentException($"dataset '{ds.Name}' has inputs '{ds.Spec.Describe()}' but the encoder was " +
                $"built for '{src.Spec.Describe()}'");
        var parts = new List<(Split S, bool Train)>();
        if (o.Split is null or "train") parts.Add((ds.Train, true));
        if (o.Split is null or "test")
        {
            if (ds.Test is null && o.Split == "test") throw new ArgumentException($"dataset '{ds.Name}' has no test split");
            if (ds.Test is not null) parts.Add((ds.Test, false));
        }
        var rows = new List<Row>();
        foreach (var (s, train) in parts)
            for (int i = 0; i < s.Count; i++)
            {
                string label = s.Labels is not null ? ds.ClassNames[s.Labels[i]]
                    : s.Targets is not null ? s.Targets[i].ToString("R", CultureInfo.InvariantCulture) : "";
                rows.Add(new Row(s.Ids?[i] ?? $"{(train ? "train" : "test")}-{i}", train, label, s.Labels?[i] ?? -1,
                    s.Targets?[i] ?? float.NaN));
            }
        var shape = src.Shape;
        long per = shape.Aggregate(1L, (a, b) => a * b), n = rows.Count;
        string? rowsFile = null;
        long done = 0;
        var tmp = path + ".tmp";
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            Action<Tensor, int> write;                                          // (features of a batch, first row)
            TextWriter? csv = null;
            if (ext == ".csv")
            {
                csv = new StreamWriter(fs, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
                csv.WriteLine("id,split,label," + string.Join(",", Enumerable.Range(0, (int)per).Select(k => "f" + k)));
                write = (f, first) =>
                {
                    var v = f.data<float>().ToArray();
                    var sb = new StringBuilder();
                    for (int r = 0; r < (int)f.shape[0]; r++)
                    {
                        var row = rows[first + r];
                        sb.Clear().Append(Csv(row.Id)).Append(',').Append(row.Train ? "train" : "test").Append(',').Append(Csv(row.Label));
                        for (long k = 0; k < per; k++) sb.Append(',').Append(v[r * per + k].ToString("R", CultureInfo.InvariantCulture));
                        csv.WriteLine(sb);
                    }
                };
            }
            else
            {
                if (ext == ".npy") WriteNpyHeader(fs, [n, .. shape]);
                else WriteSafetensorsHeader(fs, ds, rows, [n, .. shape], o.Features);
                write = (f, _) => fs.Write(f.contiguous().bytes);
            }
            int first = 0;
            foreach (var (s, _) in parts)
            {
                int start = first;
                src.Stream(s.X, o.Batch, (f, i) =>
                {
                    write(f, start + (int)i);
                    done += f.shape[0];
                    progress?.Invoke(done, n);
                });
                first += s.Count;
            }
            csv?.Dispose();
            if (ext == ".safetensors")
            {
                var tail = ds.Train.Targets is not null ? rows.SelectMany(r => BitConverter.GetBytes(r.Target))
                    : rows.SelectMany(r => BitConverter.GetBytes(r.ClassId));
                fs.Write(tail.ToArray());
                fs.Write(rows.Select(r => r.Train ? (byte)1 : (byte)0).ToArray());
            }
        }
        File.Move(tmp, path, overwrite: true);
        if (ext == ".npy")
        {
            rowsFile = Path.ChangeExtension(path, ".rows.csv");
            AtomicFile.WriteText(rowsFile, "id,split,label\n" +
                string.Concat(rows.Select(r => $"{Csv(r.Id)},{(r.Train ? "train" : "test")},{Csv(r.Label)}\n")));
        }
        return new EmbedResult(path, n, shape, rowsFile);
    }

    static string Csv(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>NumPy format 1.0 header of a C-order little-endian float32 array, padded to 64 bytes.</summary>
    static void WriteNpyHeader(Stream s, long[] shape)
    {
        var dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        int total = 10 + dict.Length + 1;
        int pad = (64 - total % 64) % 64;
        var header = dict + new string(' ', pad) + "\n";
        s.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        s.Write(BitConverter.GetBytes((ushort)header.Length));
        s.Write(Encoding.ASCII.GetBytes(header));
    }

    /// <summary>The safetensors header: features first (streamed after it), then split (U8) and label / target.</summary>
    static void WriteSafetensorsHeader(Stream s, Dataset ds, List<Row> rows, long[] shape, FeatureKind kind)
    {
        long n = rows.Count, fBytes = shape.Aggregate(4L, (a, b) => a * b);
        bool regression = ds.Train.Targets is not null;
        JsonObject Entry(string dtype, long[] sh, long begin, long end) => new()
        {
            ["dtype"] = dtype, ["shape"] = new JsonArray(sh.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
            ["data_offsets"] = new JsonArray(JsonValue.Create(begin), JsonValue.Create(end)),
        };
        var header = new JsonObject
        {
            ["__metadata__"] = new JsonObject
            {
                ["ids"] = new JsonArray(rows.Select(r => (JsonNode)r.Id).ToArray()).ToJsonString(),
                ["classes"] = new JsonArray(ds.ClassNames.Select(c => (JsonNode)c).ToArray()).ToJsonString(),
                ["features"] = FeatureExtraction.Name(kind),
                ["dataset"] = ds.Name,
            },
            ["features"] = Entry("F32", shape, 0, fBytes),
        };
        long lBytes = (regression ? 4 : 8) * n;                                 // label (I64) or target (F32), then split
        header[regression ? "target" : "label"] = Entry(regression ? "F32" : "I64", [n], fBytes, fBytes + lBytes);
        header["split"] = Entry("U8", [n], fBytes + lBytes, fBytes + lBytes + n);
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - json.Length % 8) % 8;
        s.Write(BitConverter.GetBytes((ulong)(json.Length + pad)));
        s.Write(json);
        for (int i = 0; i < pad; i++) s.WriteByte((byte)' ');
    }
}
