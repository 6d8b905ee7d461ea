using System.Globalization;

namespace MetaMae.Data;

/// <summary>
/// The shape of the images in a pixel CSV (--image-shape): "HxW" (one grey channel), "CxHxW" (channel first, the
/// columns run over a channel's whole image before the next channel's) or "HxWxC:channels-last" (the columns run over
/// each pixel's channels, as a flattened H x W x C array). Channels 1 to 4, sides 1 to 4096.
/// </summary>
public sealed record ImageShape(int Channels, int Height, int Width, bool ChannelsLast)
{
    private const string Last = ":channels-last";

    public static ImageShape Parse(string text)
    {
        string t = text.Trim();
        bool last = t.EndsWith(Last, StringComparison.Ordinal);
        if (last) t = t[..^Last.Length];
        var parts = t.Split('x');
        var dims = parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : -1)
            .ToArray();
        const string expected = "expected HxW (grey), CxHxW (channel first) or HxWxC:channels-last, e.g. 28x28, " +
                                "3x32x32, 32x32x3:channels-last";
        if (dims.Length is not (2 or 3) || dims.Any(d => d < 1) || (last && dims.Length != 3))
            throw new ArgumentException($"--image-shape '{text}': {expected}");
        var shape = dims.Length == 2 ? new ImageShape(1, dims[0], dims[1], false)
            : last ? new ImageShape(dims[2], dims[0], dims[1], true) : new ImageShape(dims[0], dims[1], dims[2], false);
        if (shape.Channels > 4 || shape.Height > 4096 || shape.Width > 4096)
            throw new ArgumentException($"--image-shape '{text}': {shape.Channels} channels of {shape.Height}x{shape.Width}; " +
                "expected 1 to 4 channels and sides of 1 to 4096 pixels");
        return shape;
    }

    /// <summary>The default patch side: the largest divisor of both sides that is at most the shorter side / 6 (at
    /// least 1): 28x28 -> 4 (7x7 = 49 tokens), 32x32 -> 4 (64 tokens, as a 32x32 image folder gets).</summary>
    public static int DefaultPatch(int height, int width)
    {
        int limit = Math.Max(1, Math.Min(height, width) / 6);
        for (int p = limit; p > 1; p--)
            if (height % p == 0 && width % p == 0) return p;
        return 1;
    }

    public override string ToString() => ChannelsLast ? $"{Height}x{Width}x{Channels}{Last}"
        : Channels == 1 ? $"{Height}x{Width}" : $"{Channels}x{Height}x{Width}";
}
