using System.Collections;
using System.Collections.Specialized;
using System.IO.Compression;
using System.Text.Json;
using MetaMae.Training;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using MetaMae.IO;

namespace MetaMae.Interop;

/// <summary>
/// PyTorch pickle state dicts (<c>.pt</c> / <c>.pth</c>, the zip format of <c>torch.save</c> since PyTorch 1.6)
/// through TorchSharp.PyBridge: <see cref="Save"/> writes a dict of tensors (in the given order) that <c>torch.load</c>
/// reads and <c>load_state_dict</c> takes, <see cref="Load"/> reads a state dict written by
/// <c>torch.save(model.state_dict(), f)</c> (an OrderedDict) or <c>torch.save(dict_of_tensors, f)</c>.
/// </summary>
/// <remarks>
/// Our metadata (the strings a safetensors file keeps in <c>__metadata__</c>) travels as a JSON record
/// <see cref="MetadataRecord"/> inside the archive, which torch.load does not look at. Archives are rewritten with
/// every record stored uncompressed, as torch.save writes them (PyBridge deflates them); on reading, that copy
/// reads every record once and checks its CRC, so a damaged or truncated file gets one clear error.
/// PyBridge's pickler writes the top level as a plain dict (Python dicts keep insertion order), not an OrderedDict.
/// </remarks>
public static class PyTorchStateDict
{
    /// <summary>Name of the metadata record, under the archive's top folder.</summary>
    public const string MetadataRecord = "extra/metamae.json";

    private const string Archive = "model";

    /// <summary>True when the file starts like a zip archive (what torch.save writes).</summary>
    public static bool LooksLikePyTorch(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using var f = File.OpenRead(path);
        return f.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && IsZip(head);
    }

    private static bool IsZip(ReadOnlySpan<byte> b) =>
        b.Length >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;

    /// <summary>Writes the tensors (CPU, contiguous) in this order as a torch.save state dict, atomically.</summary>
    public static void Save(string path, IReadOnlyList<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var dict = new OrderedDictionary();
        foreach (var (k, v) in tensors)
        {
            if (!v.is_contiguous() || v.device_type != TorchSharp.DeviceType.CPU)
                throw new ArgumentException($"'{k}': tensors to pickle must be contiguous and on the CPU");
            dict.Add(k, v);
        }
        using var pickled = new MemoryStream();
        PyTorchPickler.PickleStateDict(pickled, dict, leaveOpen: true);
        pickled.Position = 0;
        using var stored = Restore(pickled, metadata);
        AtomicFile.Write(path, s => stored.WriteTo(s));
    }

    /// <summary>
    /// Reads every tensor (on CPU) and our metadata (empty for a file PyTorch wrote). A file that is not a
    /// torch.save zip archive, a damaged one, or one that does not hold a flat dict of tensors is an
    /// InvalidDataException naming the file and what is wrong.
    /// </summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        var all = File.ReadAllBytes(path);
        if (all.Length == 0) throw Bad(path, "empty file (not a PyTorch state dict)");
        if (!IsZip(all))
            throw Bad(path, "not a PyTorch state dict: torch.save files are zip archives starting with 'PK', " +
                "this one " + (all.Length > 8 && all[8] == '{' ? "looks like safetensors (name it .safetensors)"
                    : all[0] == 0x80 ? "is a bare pickle (torch.save of PyTorch < 1.6, or " +
                        "_use_new_zipfile_serialization=False; re-save it with a newer torch)"
                    : $"starts with 0x{Convert.ToHexString(all, 0, Math.Min(4, all.Length))}"));
        MemoryStream stored;
        try
        {
            using var src = new MemoryStream(all, writable: false);
            stored = Restore(src, null);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
        {
            throw Bad(path, $"damaged or truncated zip archive ({e.Message})");
        }
        var meta = ReadMetadata(stored, path);
        var tensors = new Dictionary<string, Tensor>();
        using (stored)
        {
            Hashtable raw;
            try
            {
                stored.Position = 0;
                raw = PyTorchUnpickler.UnpickleStateDict(stored, leaveOpen: true);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw Bad(path, $"not a readable PyTorch state dict ({e.GetType().Name}: {e.Message}); " +
                    "save it with torch.save(model.state_dict(), f)");
            }
            try
            {
                foreach (DictionaryEntry kv in raw)
                {
                    if (kv.Key is not string k)
                        throw Bad(path, $"key {kv.Key} is not a string (a state dict maps parameter names to tensors)");
                    if (kv.Value is not Tensor t)
                        throw Bad(path, $"'{k}' is not a tensor but {kv.Value?.GetType().Name ?? "None"} " +
                            "(a whole training checkpoint? save model.state_dict() alone)");
                    tensors[k] = t;
                }
            }
            catch
            {
                foreach (DictionaryEntry kv in raw) (kv.Value as IDisposable)?.Dispose();
                throw;
            }
        }
        if (tensors.Count == 0) throw Bad(path, "holds no tensors");
        return (tensors, meta);
    }

    private static InvalidDataException Bad(string path, string what) => new($"{path}: {what}");

    // copies every record of the archive uncompressed, checking each one's CRC-32, and adds the metadata record
    private static MemoryStream Restore(Stream zip, IReadOnlyDictionary<string, string>? metadata)
    {
        var output = new MemoryStream();
        using (var from = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true))
        using (var to = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            string top = Archive;
            foreach (var e in from.Entries)
            {
                if (e.FullName.EndsWith('/')) continue;
                if (e.FullName.Contains('/')) top = e.FullName[..e.FullName.IndexOf('/')];
                var data = new MemoryStream();
                using (var r = e.Open()) r.CopyTo(data);
                var crc = new Crc32();
                crc.Append(data.GetBuffer().AsSpan(0, (int)data.Length));
                if (crc.Value != e.Crc32)
                    throw new InvalidDataException($"record '{e.FullName}' fails its CRC-32 check");
                using var w = to.CreateEntry(e.FullName, CompressionLevel.NoCompression).Open();
                data.Position = 0;
                data.CopyTo(w);
            }
            if (metadata is not null)
            {
                using var w = to.CreateEntry($"{top}/{MetadataRecord}", CompressionLevel.NoCompression).Open();
                w.Write(JsonSerializer.SerializeToUtf8Bytes(metadata));
            }
        }
        return output;
    }

    private static Dictionary<string, string> ReadMetadata(MemoryStream stored, string path)
    {
        stored.Position = 0;
        using var zip = new ZipArchive(stored, ZipArchiveMode.Read, leaveOpen: true);
        var entry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/" + MetadataRecord));
        if (entry is null) return [];
        using var r = entry.Open();
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(r) ?? [];
        }
        catch (JsonException e)
        {
            throw Bad(path, $"'{entry.FullName}' is not a JSON object of strings ({e.Message})");
        }
    }
}
