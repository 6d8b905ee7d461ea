using MetaMae.Modalities;

namespace MetaMae.Data.Dabs;

/// <summary>
/// EuroSAT multispectral (EuroSAT_MS / "allBands"): one folder per class of 64x64 Sentinel-2
/// GeoTIFFs with 13 uint16 bands. Read with a minimal baseline-TIFF reader (uncompressed, 8/16-bit
/// unsigned samples, strips, chunky or planar); each band is normalised with the DABS per-band
/// mean / std. Per class, a permutation with seed 42 puts 80% of the files in train, 20% in test.
/// </summary>
public static class EuroSat
{
    public const int Bands = 13, Side = 64;
    public static readonly GridSpec Spec = new(Bands, Side, Side, 8, 8);
    public static readonly float[] Mean =
    [
        1354.3003f, 1117.7579f, 1042.2800f, 947.6443f, 1199.6334f, 2001.9829f, 2372.5579f, 2299.6663f, 731.0175f, 12.0956f,
        1822.4083f, 1119.5759f, 2598.4456f,
    ];
    public static readonly float[] Std =
    [
        244.0469f, 323.4128f, 385.0928f, 584.1638f, 566.0543f, 858.5753f, 1083.6704f, 1103.0342f, 402.9594f, 4.7207f,
        1002.4071f, 759.6080f, 1228.4104f,
    ];

    public static Dataset Load(string dir, DabsOptions? o = null)
    {
        o ??= new();
        DabsIo.RequireDir(dir, "EuroSAT_MS with one folder of 13-band .tif files per class");
        var classes = Directory.GetDirectories(dir).Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw DabsIo.Err(dir, "no class folders");
        var trX = new List<float[]>(); var trY = new List<string>();
        var teX = new List<float[]>(); var teY = new List<string>();
        foreach (var c in classes)
        {
            var files = DabsIo.Files(c, ".tif", ".tiff");
            if (files.Length == 0) throw DabsIo.Err(c, "empty class: no .tif files");
            var perm = DabsIo.Permutation(files.Length, 42);
            int ntr = files.Length == 1 ? 1 : Math.Clamp((int)Math.Round(files.Length * 0.8), 1, files.Length - 1);
            for (int k = 0; k < files.Length; k++)
            {
                bool train = k < ntr;
                var (xs, ys) = train ? (trX, trY) : (teX, teY);
                if (o.MaxPerSplit > 0 && xs.Count >= o.MaxPerSplit) continue;
                xs.Add(Normalise(ReadImage(files[perm[k]])));
                ys.Add(Path.GetFileName(c));
            }
        }
        return DabsIo.Classification(DabsIo.Limited("eurosat", o), dir, Spec, trX, null, trY, teX, null, teY);
    }

    /// <summary>A 13x64x64 tile as raw band values (band-major).</summary>
    public static float[] ReadImage(string path)
    {
        var t = Tiff.Read(path);
        if (t.Width != Side || t.Height != Side || t.Bands != Bands)
            throw DabsIo.Err(path, $"image is {t.Bands} bands x {t.Height}x{t.Width}, expected {Bands} bands x {Side}x{Side}");
        return t.Data;
    }

    static float[] Normalise(float[] x)
    {
        for (int b = 0; b < Bands; b++)
            for (int i = 0; i < Side * Side; i++) x[b * Side * Side + i] = (x[b * Side * Side + i] - Mean[b]) / Std[b];
        return x;
    }
}

/// <summary>A minimal baseline TIFF reader: uncompressed strips of unsigned 8- or 16-bit samples, any band count.</summary>
public static class Tiff
{
    public sealed record Image(int Width, int Height, int Bands, float[] Data);

    public static Image Read(string path)
    {
        DabsIo.RequireFile(path, "a TIFF image");
        return Parse(path, File.ReadAllBytes(path));
    }

    public static Image Parse(string path, byte[] b)
    {
        DataFormatException Bad(string what) => DabsIo.Err(path, "TIFF: " + what);
        if (b.Length < 8) throw Bad($"file of {b.Length} bytes is too short for a TIFF header");
        bool le = b[0] == 'I' && b[1] == 'I';
        if (!le && !(b[0] == 'M' && b[1] == 'M')) throw Bad("not a TIFF file (expected 'II' or 'MM' byte order mark)");
        uint U16(long at)
        {
            if (at < 0 || at + 2 > b.Length) throw Bad($"offset {at} is past the end of the file");
            return le ? (uint)(b[at] | b[at + 1] << 8) : (uint)(b[at] << 8 | b[at + 1]);
        }
        uint U32(long at)
        {
            if (at < 0 || at + 4 > b.Length) throw Bad($"offset {at} is past the end of the file");
            return le ? (uint)(b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24)
                : (uint)(b[at] << 24 | b[at + 1] << 16 | b[at + 2] << 8 | b[at + 3]);
        }
        if (U16(2) != 42) throw Bad($"magic number {U16(2)}, expected 42 (BigTIFF is not supported)");
        long ifd = U32(4);
        int n = (int)U16(ifd);
        var tags = new Dictionary<int, uint[]>();
        for (int i = 0; i < n; i++)
        {
            long e = ifd + 2 + 12L * i;
            int tag = (int)U16(e), type = (int)U16(e + 2);
            long count = U32(e + 4);
            int size = type switch { 3 => 2, 4 => 4, 1 => 1, _ => 0 };
            if (size == 0) continue;                    // types the baseline image data does not need
            if (count > b.Length) throw Bad($"tag {tag}: count {count} is larger than the file");
            long at = count * size <= 4 ? e + 8 : U32(e + 8);
            var v = new uint[count];
            for (long k = 0; k < count; k++)
                v[k] = size == 2 ? U16(at + 2 * k) : size == 4 ? U32(at + 4 * k)
                    : (at + k < b.Length && at + k >= 0 ? b[at + k] : throw Bad($"tag {tag} data past the end"));
            tags[tag] = v;
        }
        uint One(int tag, string name, uint? dflt = null)
        {
            if (tags.TryGetValue(tag, out var v) && v.Length > 0) return v[0];
            return dflt ?? throw Bad($"missing tag {tag} ({name})");
        }
        int w = (int)Math.Min(One(256, "ImageWidth"), 1 << 16), h = (int)Math.Min(One(257, "ImageLength"), 1 << 16);
        if (w < 1 || h < 1) throw Bad($"image size {w}x{h}");
        var compression = One(259, "Compression", 1);
        if (compression != 1) throw Bad($"compression {compression} is not supported (only uncompressed, 1)");
        int spp = (int)One(277, "SamplesPerPixel", 1);
        if (spp < 1 || spp > 64) throw Bad($"SamplesPerPixel {spp}, expected 1..64");
        var bps = tags.TryGetValue(258, out var bv) ? bv : [1];
        if (bps.Length != 1 && bps.Length != spp) throw Bad($"BitsPerSample has {bps.Length} values for {spp} samples");
        int bits = (int)bps[0];
        if (bps.Any(x => x != bits) || (bits != 8 && bits != 16))
            throw Bad($"BitsPerSample {string.Join(",", bps)}: only 8 or 16 bits for every sample are supported");
        var fmt = One(339, "SampleFormat", 1);
        if (fmt != 1) throw Bad($"SampleFormat {fmt}, only unsigned integers (1) are supported");
        int planar = (int)One(284, "PlanarConfiguration", 1);
        if (planar != 1 && planar != 2) throw Bad($"PlanarConfiguration {planar}, expected 1 or 2");
        if (tags.ContainsKey(322)) throw Bad("tiled TIFFs are not supported (strips only)");
        if (!tags.TryGetValue(273, out var offs)) throw Bad("missing tag 273 (StripOffsets)");
        if (!tags.TryGetValue(279, out var counts)) throw Bad("missing tag 279 (StripByteCounts)");
        if (offs.Length != counts.Length) throw Bad($"{offs.Length} strip offsets but {counts.Length} strip byte counts");
        // concatenate the strips
        long total = counts.Sum(c => (long)c);
        int bytesPer = bits / 8;
        long need = (long)w * h * spp * bytesPer;
        if (total < need) throw Bad($"strips hold {total} bytes, the image needs {need} ({w}x{h}x{spp} at {bits} bits)");
        var raw = new byte[need];
        long pos = 0;
        for (int s = 0; s < offs.Length && pos < need; s++)
        {
            long len = Math.Min(counts[s], need - pos);
            if (offs[s] + len > b.Length)
                throw Bad($"strip {s} (offset {offs[s]}, {counts[s]} bytes) runs past the end of the file " +
                    $"({b.Length} bytes)");
            Array.Copy(b, offs[s], raw, pos, len);
            pos += len;
        }
        var data = new float[spp * w * h];
        for (long i = 0; i < (long)w * h * spp; i++)
        {
            float v = bits == 8 ? raw[i] : le ? raw[2 * i] | raw[2 * i + 1] << 8 : raw[2 * i] << 8 | raw[2 * i + 1];
            long band, pix;
            if (planar == 1) { band = i % spp; pix = i / spp; } else { band = i / ((long)w * h); pix = i % ((long)w * h); }
            data[band * w * h + pix] = v;
        }
        return new Image(w, h, spp, data);
    }
}
