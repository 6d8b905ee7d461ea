using MetaMae.Modalities;
using StbImageSharp;

namespace MetaMae.Data.Dabs;

/// <summary>
/// RGB image sets as 3x32x32 grids with 4x4 patches, values in [0, 1] (torchvision's ToTensor):
/// CIFAR-10 binary batches, an ImageNet32 binary export, and class-folder image sets (CUB,
/// VGG Flowers, DTD, Traffic Sign, Aircraft) resized to 32x32.
/// </summary>
public static class Images
{
    public const int Side = 32, Pixels = 3 * Side * Side;
    public static readonly GridSpec Spec = new(3, Side, Side, 4, 4);

    public static readonly string[] CifarClasses =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>
    /// CIFAR-10 binary version (cifar-10-batches-bin): data_batch_1..5.bin and test_batch.bin, each a
    /// run of 3073-byte records: 1 label byte (0..9), then 1024 red, 1024 green, 1024 blue bytes.
    /// </summary>
    public static Dataset Cifar10(string dir, DabsOptions? o = null)
    {
        o ??= new();
        DabsIo.RequireDir(dir, "cifar-10-batches-bin");
        var trX = new List<float[]>(); var trY = new List<string>();
        var teX = new List<float[]>(); var teY = new List<string>();
        for (int b = 1; b <= 5; b++) ReadRecords(Path.Combine(dir, $"data_batch_{b}.bin"), 1, 10, trX, trY, o.MaxPerSplit, CifarClasses);
        ReadRecords(Path.Combine(dir, "test_batch.bin"), 1, 10, teX, teY, o.MaxPerSplit, CifarClasses);
        return Ordered(DabsIo.Limited("cifar10", o), dir, trX, trY, teX, teY);
    }

    /// <summary>
    /// ImageNet32 as a binary export (the official npz/pickle files are impractical in .NET; see
    /// docs/dabs-datasets.md for the one-line conversion): train.bin and val.bin, runs of 3074-byte
    /// records: the class id (0..999) as a little-endian uint16, then 3072 bytes R, G, B planes.
    /// </summary>
    public static Dataset ImageNet32(string dir, DabsOptions? o = null)
    {
        o ??= new();
        DabsIo.RequireDir(dir, "the ImageNet32 binary export");
        var trX = new List<float[]>(); var trY = new List<string>();
        var teX = new List<float[]>(); var teY = new List<string>();
        ReadRecords(Path.Combine(dir, "train.bin"), 2, 1000, trX, trY, o.MaxPerSplit, null);
        ReadRecords(Path.Combine(dir, "val.bin"), 2, 1000, teX, teY, o.MaxPerSplit, null);
        return Ordered(DabsIo.Limited("imagenet32", o), dir, trX, trY, teX, teY);
    }

    static Dataset Ordered(string name, string where, List<float[]> trX, List<string> trY, List<float[]> teX, List<string> teY)
    {
        // labels are numbers (or CIFAR names); keep numeric order for numeric ids
        return DabsIo.Classification(name, where, Spec, trX, null, trY, teX, null, teY);
    }

    static void ReadRecords(string path, int labelBytes, int classes, List<float[]> xs, List<string> ys, int max, string[]? names)
    {
        DabsIo.RequireFile(path, "a binary batch file");
        int rec = labelBytes + Pixels;
        using var fs = File.OpenRead(path);
        if (fs.Length == 0) throw DabsIo.Err(path, "empty file");
        if (fs.Length % rec != 0)
            throw DabsIo.Err(path, $"size {fs.Length} bytes is not a multiple of the {rec}-byte record " +
                $"({labelBytes} label byte(s) + 3072 pixel bytes): truncated or not this format");
        var buf = new byte[rec];
        for (long i = 0; i < fs.Length / rec; i++)
        {
            if (max > 0 && xs.Count >= max) return;
            fs.ReadExactly(buf);
            int label = labelBytes == 1 ? buf[0] : buf[0] | (buf[1] << 8);
            if (label >= classes) throw DabsIo.Err(path, $"record {i} (byte {i * rec}): label {label}, expected 0..{classes - 1}");
            var x = new float[Pixels];
            for (int k = 0; k < Pixels; k++) x[k] = buf[labelBytes + k] / 255f;
            xs.Add(x); ys.Add(names is null ? label.ToString("D4") : $"{label}-{names[label]}");
        }
    }

    public static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".ppm"];

    /// <summary>
    /// A class-folder image set: dir/train/CLASS/*.png|jpg|... and dir/test/CLASS/*; every image is
    /// converted to RGB and resized (bilinear) to 32x32. An unreadable image or an empty class is an error.
    /// </summary>
    public static Dataset Folder(string name, string dir, DabsOptions? o = null)
    {
        o ??= new();
        DabsIo.RequireDir(dir, "an image set with train/CLASS/ and test/CLASS/ folders");
        var (trX, trY) = ReadSplit(Path.Combine(dir, "train"), o.MaxPerSplit);
        var (teX, teY) = ReadSplit(Path.Combine(dir, "test"), o.MaxPerSplit);
        return DabsIo.Classification(DabsIo.Limited(name, o), dir, Spec, trX, null, trY, teX, null, teY);
    }

    static (List<float[]>, List<string>) ReadSplit(string dir, int max)
    {
        DabsIo.RequireDir(dir, "a split folder with one sub-folder per class");
        var xs = new List<float[]>(); var ys = new List<string>();
        var classes = Directory.GetDirectories(dir).Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw DabsIo.Err(dir, "no class sub-folders");
        foreach (var c in classes)
        {
            var files = DabsIo.Files(c, ImageExtensions);
            if (files.Length == 0) throw DabsIo.Err(c, $"empty class: no image files ({string.Join(", ", ImageExtensions)})");
            foreach (var f in files)
            {
                if (max > 0 && xs.Count >= max) break;
                var (rgb, w, h) = Decode(f);
                xs.Add(DabsIo.Resize(rgb, 3, h, w, Side, Side));
                ys.Add(Path.GetFileName(c));
            }
        }
        return (xs, ys);
    }

    /// <summary>Decodes an image file to a (3, H, W) float array in [0, 1].</summary>
    public static (float[] Chw, int W, int H) Decode(string path)
    {
        var bytes = File.ReadAllBytes(path);
        byte[] data; int w, h;
        if (path.EndsWith(".ppm", StringComparison.OrdinalIgnoreCase)) (data, w, h) = Ppm(path, bytes);
        else
        {
            ImageResult img;
            if (bytes.Length >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8) CheckJpeg(path, bytes);
            if (bytes.Length >= 2 && bytes[0] == 'B' && bytes[1] == 'M') CheckBmpLength(path, bytes);
            try { img = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue); }
            catch (Exception e) { throw DabsIo.Err(path, $"cannot decode the image ({e.Message})"); }
            if (img?.Data is null || img.Width < 1 || img.Height < 1 || img.Data.Length < img.Width * img.Height * 3)
                throw DabsIo.Err(path, "cannot decode the image");
            (data, w, h) = (img.Data, img.Width, img.Height);
        }
        var chw = new float[3 * w * h];
        for (int i = 0; i < w * h; i++)
            for (int c = 0; c < 3; c++) chw[c * w * h + i] = data[i * 3 + c] / 255f;
        return (chw, w, h);
    }

    /// <summary>
    /// Walks a JPEG's marker segments up to the first scan (SOS) and rejects a file whose headers run past its end
    /// or that has no frame (SOF) before its scan. StbImageSharp 2.30 loops forever on some such files (a 16-byte
    /// truncated JFIF header was one, found by the seeded fuzz), so they must not reach it. A file cut inside its
    /// image data (no end-of-image marker after the scan) is rejected too: the decoder would fill the lost rows
    /// with grey and train on them without a word.
    /// </summary>
    static void CheckJpeg(string path, byte[] b)
    {
        int pos = 2; bool frame = false;
        while (true)
        {
            if (pos >= b.Length) throw DabsIo.Err(path, $"truncated JPEG: the headers end at byte {b.Length} before any scan");
            if (b[pos] != 0xFF) throw DabsIo.Err(path, $"not a JPEG marker at byte {pos} (0x{b[pos]:X2}, expected 0xFF)");
            while (pos < b.Length && b[pos] == 0xFF) pos++;                     // fill bytes before a marker
            if (pos >= b.Length) throw DabsIo.Err(path, "truncated JPEG: the file ends inside a marker");
            byte m = b[pos++];
            if (m == 0xD9) throw DabsIo.Err(path, "JPEG without image data: end of image before any scan");
            if (m == 0x01 || m is >= 0xD0 and <= 0xD7) continue;               // markers without a length
            if (pos + 2 > b.Length) throw DabsIo.Err(path, $"truncated JPEG: the length of marker 0x{m:X2} is cut off");
            int len = b[pos] << 8 | b[pos + 1];
            if (len < 2 || pos + len > b.Length)
                throw DabsIo.Err(path, $"truncated JPEG: marker 0x{m:X2} at byte {pos - 2} says {len} bytes, "
                    + $"{b.Length - pos} remain");
            if (m is >= 0xC0 and <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) frame = true;  // SOFn, not DHT/JPG/DAC
            if (m == 0xDA)
            {
                if (!frame) throw DabsIo.Err(path, "JPEG scan (SOS) before any frame header (SOF)");
                for (int i = pos + len; i + 1 < b.Length; i++)
                    if (b[i] == 0xFF && b[i + 1] == 0xD9) return;
                throw DabsIo.Err(path, $"truncated JPEG: no end-of-image marker (FFD9) after the image data "
                    + $"({b.Length} bytes; the file was cut short?)");
            }
            pos += len;
        }
    }

    /// <summary>
    /// An uncompressed BMP (BI_RGB) must hold the pixel rows its header declares: StbImageSharp decodes a cut file
    /// with the missing rows black, so a truncated one is named here instead.
    /// </summary>
    static void CheckBmpLength(string path, byte[] b)
    {
        if (b.Length < 18) return;                                             // the decoder names a cut file header
        long dib = BitConverter.ToUInt32(b, 14);
        if (b.Length < 14 + dib)
            throw DabsIo.Err(path, $"truncated BMP: {b.Length} bytes, its {dib}-byte header alone needs {14 + dib}");
        if (dib < 40) return;                                                  // OS/2 core header: 16-bit sizes
        long off = BitConverter.ToUInt32(b, 10), w = BitConverter.ToInt32(b, 18);
        long h = Math.Abs((long)BitConverter.ToInt32(b, 22));
        int bpp = BitConverter.ToUInt16(b, 28); uint compression = BitConverter.ToUInt32(b, 30);
        if (compression != 0 || w <= 0 || bpp <= 0) return;
        long need = off + (bpp * w + 31) / 32 * 4 * h;
        if (b.Length < need) throw DabsIo.Err(path, $"truncated BMP: {b.Length} bytes, its header declares {need}");
    }

    /// <summary>Binary PPM (P6, maxval 255), as the German Traffic Sign benchmark ships.</summary>
    static (byte[], int, int) Ppm(string path, byte[] b)
    {
        int pos = 0;
        string Token()
        {
            while (pos < b.Length)
            {
                if (b[pos] == '#') { while (pos < b.Length && b[pos] != '\n') pos++; }
                else if (char.IsWhiteSpace((char)b[pos])) pos++;
                else break;
            }
            int s = pos;
            while (pos < b.Length && !char.IsWhiteSpace((char)b[pos]) && pos - s < 12) pos++;
            return System.Text.Encoding.ASCII.GetString(b, s, pos - s);
        }
        if (Token() != "P6") throw DabsIo.Err(path, "not a binary PPM (expected the magic 'P6')");
        if (!int.TryParse(Token(), out var w) || !int.TryParse(Token(), out var h) || !int.TryParse(Token(), out var max)
            || w < 1 || h < 1 || w > 65535 || h > 65535)
            throw DabsIo.Err(path, "PPM header: expected width, height and maxval as positive integers");
        if (max != 255) throw DabsIo.Err(path, $"PPM maxval {max}, expected 255 (8-bit)");
        pos++;
        long need = 3L * w * h;
        if (pos > b.Length || b.Length - pos < need)
            throw DabsIo.Err(path, $"PPM truncated: {w}x{h} needs {need} pixel bytes, " +
                $"found {Math.Max(0, b.Length - pos)}");
        return (b[pos..(int)(pos + need)], w, h);
    }
}
