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
