using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Training;

/// <summary>
/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
/// {string: string}}, then the raw little-endian tensor bytes. Our checkpoints use it, so PyTorch
/// loads them with safetensors.torch.load_file. Files are written atomically (temp, flush, rename).
/// </summary>
public static class SafeTensors
{
    private static string DtypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float64 => "F64",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"safetensors: dtype {t} is not supported"),
    };

    private static ScalarType FromName(string s, string file, string key) => s switch
    {
        "F32" => ScalarType.Float32,
        "F64" => ScalarType.Float64,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new InvalidDataException($"{file}: tensor '{key}' has unsupported dtype '{s}'"),
    };

    /// <summary>Writes tensors (moved to CPU, made contiguous) and string metadata to path, atomically.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var blobs = new List<byte[]>();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var md = new JsonObject();
            foreach (var (k, v) in metadata) md[k] = v;
            header["__metadata__"] = md;
        }
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            if (name == "__metadata__") throw new ArgumentException("safetensors: '__metadata__' is a reserved name");
            using var c = t.detach().cpu().contiguous();
            var bytes = c.bytes.ToArray();
            blobs.Add(bytes);
            header[name] = new JsonObject
            {
                ["dtype"] = DtypeName(c.dtype),
                ["shape"] = new JsonArray(c.shape.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
                ["data_offsets"] = new JsonArray(JsonValue.Create(offset), JsonValue.Create(offset + bytes.Length)),
            };
            offset += bytes.Length;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - json.Length % 8) % 8;                        // keep the data 8-byte aligned
        var headerBytes = new byte[json.Length + pad];
        json.CopyTo(headerBytes, 0);
        for (int i = json.Length; i < headerBytes.Length; i++) headerBytes[i] = (byte)' ';

        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BitConverter.TryWriteBytes(len, (ulong)headerBytes.Length);
            stream.Write(len);
            stream.Write(headerBytes);
            foreach (var b in blobs) stream.Write(b);
        });
    }

    /// <summary>Reads every tensor (on CPU) and the metadata. Errors name the file and what is wrong.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        var all = File.ReadAllBytes(path);
        if (all.Length < 8) throw new InvalidDataException($"{path}: too short for a safetensors file ({all.Length} bytes)");
        ulong n = BitConverter.ToUInt64(all, 0);
        if (n > (ulong)(all.Length - 8)) throw new InvalidDataException($"{path}: header length {n} exceeds the file size {all.Length}");
        JsonObject header;
        try { header = JsonNode.Parse(Encoding.UTF8.GetString(all, 8, (int)n))!.AsObject(); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: header is not valid JSON ({e.Message})"); }
        long dataStart = 8 + (long)n, dataLen = all.Length - dataStart;
        var tensors = new Dictionary<string, Tensor>();
        var meta = new Dictionary<string, string>();
        foreach (var (key, node) in header)
        {
            if (key == "__metadata__")
            {
                foreach (var (mk, mv) in node!.AsObject()) meta[mk] = mv!.GetValue<string>();
                continue;
            }
            var o = node as JsonObject ?? throw new InvalidDataException($"{path}: entry '{key}' is not an object");
            var dt = FromName(o["dtype"]?.GetValue<string>() ?? "", path, key);
            var shape = (o["shape"] as JsonArray ?? throw new InvalidDataException($"{path}: '{key}' has no shape"))
                .Select(x => x!.GetValue<long>()).ToArray();
            var offs = o["data_offsets"] as JsonArray ?? throw new InvalidDataException($"{path}: '{key}' has no data_offsets");
            long begin = offs[0]!.GetValue<long>(), end = offs[1]!.GetValue<long>();
            long elem = ElementSize(dt), count = shape.Aggregate(1L, (a, b) => a * b);
            if (begin < 0 || end > dataLen || end - begin != count * elem)
                throw new InvalidDataException($"{path}: '{key}' offsets [{begin}, {end}) do not fit shape ({string.Join(", ", shape)}) of {dt} in {dataLen} data bytes");
            var t = empty(shape, dtype: dt);
            all.AsSpan((int)(dataStart + begin), (int)(end - begin)).CopyTo(t.bytes);
            tensors[key] = t;
        }
        return (tensors, meta);
    }

    private static long ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}

/// <summary>Write to a temporary file in the same folder, flush to disk, then rename over the target.</summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static void WriteText(string path, string text) =>
        Write(path, s => { var b = Encoding.UTF8.GetBytes(text); s.Write(b); });
}
