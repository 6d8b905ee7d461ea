using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.IO;

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

    /// <summary>
    /// Metadata key of a CRC-32 over the tensor entries (name, dtype, shape, offsets), the other metadata
    /// and the data bytes: a bit flipped anywhere in a file we wrote is reported, never loaded silently.
    /// Files without it (written by other tools) load without the check.
    /// </summary>
    public const string ChecksumKey = "metamae_crc32";

    /// <summary>Writes tensors (moved to CPU, made contiguous) and string metadata to path, atomically.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var blobs = new List<byte[]>();
        var entries = new List<Entry>();
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            if (name == "__metadata__") throw new ArgumentException("safetensors: '__metadata__' is a reserved name");
            using var c = t.detach().cpu().contiguous();
            var bytes = c.bytes.ToArray();
            blobs.Add(bytes);
            entries.Add(new Entry(name, DtypeName(c.dtype), c.shape, offset, offset + bytes.Length));
            offset += bytes.Length;
        }
        var meta = new Dictionary<string, string>();
        if (metadata is not null) foreach (var (k, v) in metadata) if (k != ChecksumKey) meta[k] = v;
        var crc = new Crc32();
        crc.Append(Describe(entries, meta));
        foreach (var b in blobs) crc.Append(b);
        meta[ChecksumKey] = crc.Value.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

        var header = new JsonObject();
        var md = new JsonObject();
        foreach (var (k, v) in meta) md[k] = v;
        header["__metadata__"] = md;
        foreach (var e in entries)
            header[e.Name] = new JsonObject
            {
                ["dtype"] = e.Dtype,
                ["shape"] = new JsonArray(e.Shape.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
                ["data_offsets"] = new JsonArray(JsonValue.Create(e.Begin), JsonValue.Create(e.End)),
            };
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

    private sealed record Entry(string Name, string Dtype, long[] Shape, long Begin, long End);

    /// <summary>The header's content in a canonical form (what the checksum covers besides the data).</summary>
    private static byte[] Describe(IEnumerable<Entry> entries, IReadOnlyDictionary<string, string> meta)
    {
        var sb = new StringBuilder();
        foreach (var e in entries.OrderBy(e => e.Name, StringComparer.Ordinal))
            sb.Append(e.Name).Append('|').Append(e.Dtype).Append('|').Append(string.Join(",", e.Shape))
              .Append('|').Append(e.Begin).Append(',').Append(e.End).Append('\n');
        foreach (var (k, v) in meta.Where(kv => kv.Key != ChecksumKey).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            sb.Append(k).Append('=').Append(v).Append('\n');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static InvalidDataException Bad(string path, string what) => new($"{path}: {what}");

    /// <summary>
    /// Reads every tensor (on CPU) and the metadata. Any damage (truncation, a zero-length or foreign file,
    /// a flipped bit, a malformed header) is an InvalidDataException naming the file and what is wrong.
    /// </summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        var all = File.ReadAllBytes(path);
        if (all.Length < 8) throw Bad(path, $"too short for a safetensors file ({all.Length} bytes; its header length alone takes 8)");
        ulong n = BitConverter.ToUInt64(all, 0);
        if (n > (ulong)(all.Length - 8))
            throw Bad(path, $"header length {n} exceeds the file size {all.Length} (truncated, or not a safetensors file)");
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            JsonObject header;
            try
            {
                var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(all, 8, (int)n);
                header = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 16 }) as JsonObject
                    ?? throw Bad(path, "header is not a JSON object");
            }
            catch (Exception e) when (e is JsonException or DecoderFallbackException or ArgumentException)
            {
                throw Bad(path, $"header is not valid JSON ({e.Message})");
            }
            long dataStart = 8 + (long)n, dataLen = all.Length - dataStart;
            var meta = new Dictionary<string, string>();
            var entries = new List<Entry>();
            string key = "";
            try
            {
                foreach (var (k, node) in header)
                {
                    key = k;
                    if (k == "__metadata__")
                    {
                        var mo = node as JsonObject ?? throw Bad(path, "'__metadata__' is not an object");
                        foreach (var (mk, mv) in mo)
                            meta[mk] = (mv as JsonValue)?.GetValue<string>() ?? throw Bad(path, $"metadata '{mk}' is not a string");
                        continue;
                    }
                    var o = node as JsonObject ?? throw Bad(path, $"entry '{k}' is not an object");
                    var dtName = (o["dtype"] as JsonValue)?.GetValue<string>() ?? throw Bad(path, $"'{k}' has no dtype");
                    var dt = FromName(dtName, path, k);
                    var shape = (o["shape"] as JsonArray ?? throw Bad(path, $"'{k}' has no shape"))
                        .Select(x => (x as JsonValue)?.GetValue<long>()
                                     ?? throw Bad(path, $"'{k}' has a shape entry that is not a number")).ToArray();
                    if (shape.Any(d => d < 0)) throw Bad(path, $"'{k}' has a negative dimension in shape ({string.Join(", ", shape)})");
                    var offs = o["data_offsets"] as JsonArray ?? throw Bad(path, $"'{k}' has no data_offsets");
                    if (offs.Count != 2) throw Bad(path, $"'{k}' data_offsets has {offs.Count} entries, expected 2");
                    long begin = (offs[0] as JsonValue)?.GetValue<long>() ?? -1, end = (offs[1] as JsonValue)?.GetValue<long>() ?? -1;
                    long elem = ElementSize(dt), count = shape.Aggregate(1L, (a, b) => checked(a * b));
                    if (begin < 0 || end < begin || end > dataLen || end - begin != checked(count * elem))
                        throw Bad(path, $"'{k}' offsets [{begin}, {end}) do not fit shape " +
                            $"({string.Join(", ", shape)}) of {dt} in {dataLen} data bytes");
                    entries.Add(new Entry(k, dtName, shape, begin, end));
                }
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException or ArgumentException
                                          or KeyNotFoundException or IndexOutOfRangeException)
            {
                throw Bad(path, $"header entry '{key}' is malformed ({e.Message})");
            }
            if (meta.TryGetValue(ChecksumKey, out var stored))
            {
                var crc = new Crc32();
                crc.Append(Describe(entries, meta));
                crc.Append(all.AsSpan((int)dataStart));
                var actual = crc.Value.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
                if (actual != stored)
                    throw Bad(path, $"checksum mismatch (stored {stored}, computed {actual}): the file is damaged");
            }
            foreach (var e in entries)
            {
                var t = empty(e.Shape, dtype: FromName(e.Dtype, path, e.Name));
                tensors[e.Name] = t;
                all.AsSpan((int)(dataStart + e.Begin), (int)(e.End - e.Begin)).CopyTo(t.bytes);
            }
            return (tensors, meta);
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
    }

    private static long ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}

/// <summary>CRC-32 (IEEE 802.3, as zlib's crc32), table-driven.</summary>
internal sealed class Crc32
{
    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    private uint crc = 0xFFFFFFFFu;

    public void Append(ReadOnlySpan<byte> data)
    {
        uint c = crc;
        foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        crc = c;
    }

    public uint Value => crc ^ 0xFFFFFFFFu;
}
