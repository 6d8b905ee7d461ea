using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Data;

/// <summary>Options of bring-your-own data (`--data PATH --modality M`).</summary>
public sealed record ByoOptions
{
    public required string Modality { get; init; }
    /// <summary>Label column of a CSV (default 'label' when present; data without it is unlabeled).</summary>
    public string? LabelColumn { get; init; }
    public string SplitColumn { get; init; } = "split";
    /// <summary>Symbols of sequence data (index = token id); inferred (sorted) when null.</summary>
    public string? Alphabet { get; init; }
    /// <summary>Patch length (series), patch side (image, audio); default chosen per modality.</summary>
    public int? Patch { get; init; }
    /// <summary>Sequence length (crop / pad) or series window; default: longest sequence, 320-step windows.</summary>
    public int? Length { get; init; }
    /// <summary>Seed of the 80/20 split used when the data names no split.</summary>
    public int SplitSeed { get; init; } = 42;
    /// <summary>Id column of a table (not a feature; names the samples in embeddings); none by default.</summary>
    public string? IdColumn { get; init; }
    /// <summary>Table columns that are not features (besides label, split, id and non-numeric columns).</summary>
    public IReadOnlyList<string>? IgnoreColumns { get; init; }
    /// <summary>Missing table cells: masked / imputed (default, see <see cref="Data.Missing"/>) or an error.</summary>
    public MissingPolicy Missing { get; init; } = MissingPolicy.Mask;
    /// <summary>Image modality from a CSV of pixel columns (one row per image): the shape, e.g. "28x28" (grey),
    /// "3x32x32" (channel first) or "32x32x3:channels-last" (<see cref="ImageShape"/>). Null: images from a folder.</summary>
    public string? ImageShape { get; init; }
    /// <summary>Folder of the shipped data (image-caption reads its BERT vocabulary); default as <see cref="Catalog.DataRoot"/>.</summary>
    public string? DataDir { get; init; }
}

/// <summary>
/// Users' own data without code. Formats by modality:
/// tabular: CSV of numbers (+ optional label, split and id columns; non-numeric columns are left out and reported;
/// missing cells as in <see cref="Missing"/>), standardised per feature with training statistics (<see cref="Tables"/>).
/// sequence: FASTA (header '&gt;id|label|split', label and split optional) or CSV with a 'sequence' column; symbols -> ids.
/// tokens: CSV whose feature columns are integer token ids (vocabulary = largest id + 1).
/// image: a folder with one subfolder of images per class (PNG, JPEG, BMP, GIF, TGA or PPM, all one size), or train/ and
/// test/ folders each holding class subfolders.
/// audio: the same layout with 16 kHz mono 16-bit WAVs -> the speech-digits log-mel recipe (1 x 64 x 64).
/// image-caption: CSV of file, caption (+ optional label, split), images relative to it (<see cref="ImageCaptions"/>).
/// series: CSV, one row per time step, one column per channel (+ optional label column: windows never span a label change).
/// Without a split, a stratified 80/20 split seeded with <see cref="ByoOptions.SplitSeed"/> is made.
/// </summary>
public static class ByoData
{
    public static readonly string[] Modalities = ["tabular", "sequence", "tokens", "image", "audio", "series", "image-caption"];

    public static Dataset Load(string path, ByoOptions o)
    {
        string name = "byo:" + Path.GetFileName(Path.TrimEndingDirectorySeparator(path));
        if (!File.Exists(path) && !Directory.Exists(path)) throw new DataFormatException($"{path}: no such file or folder");
        return o.Modality switch
        {
            "tabular" => Tabular(name, path, o),
            "sequence" => Sequence(name, path, o),
            "tokens" => Tokens(name, path, o),
            "image" => o.ImageShape is string shape ? PixelCsv(name, path, o, Data.ImageShape.Parse(shape))
                : Folder(name, path, o, Dabs.Images.ImageExtensions),
            "audio" => Folder(name, path, o, [".wav"]),
            "series" => Series(name, path, o),
            "image-caption" => ImageCaptionCsv(name, path, o),
            _ => throw new ArgumentException($"--modality must be one of {string.Join(", ", Modalities)} (got '{o.Modality}')"),
        };
    }

    static string? Label(ByoOptions o) => o.LabelColumn ?? "label";

    static void RequireFile(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException($"{path}: expected a file for this modality, found a folder");
    }

    static Dataset Tabular(string name, string path, ByoOptions o)
    {
        RequireFile(path);
        return Tables.Read(name, path, o);
    }

    static Dataset ImageCaptionCsv(string name, string path, ByoOptions o)
    {
        RequireFile(path);
        return ImageCaptions.Read(name, path, o);
    }

    static Dataset Tokens(string name, string path, ByoOptions o)
    {
        RequireFile(path);
        var r = Formats.NumericCsv(path, Label(o), o.SplitColumn, requireLabel: o.LabelColumn is not null);
        var ids = new long[r.Rows.Count * r.FeatureNames.Length];
        for (int i = 0; i < r.Rows.Count; i++)
            for (int j = 0; j < r.FeatureNames.Length; j++)
            {
                float v = r.Rows[i][j];
                if (v < 0 || v != MathF.Floor(v) || v > 1_000_000)
                    throw new DataFormatException($"{path}: data row {i + 1} field '{r.FeatureNames[j]}' is {v}, " +
                        "expected a token id (an integer 0..1000000)");
                ids[i * r.FeatureNames.Length + j] = (long)v;
            }
        int vocab = (int)Math.Max(2, ids.Max() + 1);
        var isTrain = r.HasSplit ? r.IsTrain : RandomSplit(r.Labels, r.Rows.Count, o.SplitSeed);
        return Readers.Build(name, path, new TokenSpec(vocab, r.FeatureNames.Length),
            tensor(ids, [r.Rows.Count, r.FeatureNames.Length]), r.Labels, isTrain, true);
    }

    static Dataset Sequence(string name, string path, ByoOptions o)
    {
        RequireFile(path);
        var recs = new List<(long Line, string Seq, string? Label, bool? Train, string Id)>();
        bool fasta;
        using (var rd = new StreamReader(path)) { int c; do c = rd.Read(); while (c is ' ' or '\n' or '\r'); fasta = c == '>'; }
        if (fasta)
        {
            long line = 0, headLine = 0;
            string? head = null;
            var sb = new System.Text.StringBuilder();
            void Flush()
            {
                if (head is null) return;
                if (sb.Length == 0) throw new DataFormatException($"{path}:{headLine}: record '{head}' has no sequence");
                var parts = head.Split('|');
                string? label = parts.Length > 1 && parts[1].Length > 0 ? parts[1] : null;
                bool? train = parts.Length > 2 ? Formats.ParseSplit(path, headLine, "split (third header field)", parts[2]) : null;
                recs.Add((headLine, sb.ToString(), label, train, parts[0].Length > 0 ? parts[0] : $"line {headLine}"));
                sb.Clear();
            }
            foreach (var raw in File.ReadLines(path))
            {
                line++;
                var l = raw.Trim();
                if (l.Length == 0) continue;
                if (l[0] == '>') { Flush(); head = l[1..]; headLine = line; }
                else if (head is null) throw new DataFormatException($"{path}:{line}: sequence data before the first '>' header");
                else sb.Append(l);
            }
            Flush();
            if (recs.Count == 0) throw new DataFormatException($"{path}: no FASTA records");
            if (recs.Any(r => r.Label is null) && recs.Any(r => r.Label is not null))
                throw new DataFormatException($"{path}:{recs.First(r => r.Label is null).Line}: header has no label " +
                    "(expected '>id|label|split') while others do");
            if (recs.Any(r => r.Train is null) && recs.Any(r => r.Train is not null))
                throw new DataFormatException($"{path}:{recs.First(r => r.Train is null).Line}: header has no split while others do");
        }
        else
        {
            var t = CsvTable.Read(path);
            int si = t.Column("sequence");
            string? lc = Label(o);
            int li = lc is not null && t.Header.Contains(lc) ? t.Column(lc) : o.LabelColumn is not null ? t.Column(o.LabelColumn) : -1;
            int pi = Array.IndexOf(t.Header, o.SplitColumn);
            int ii = o.IdColumn is null ? -1 : t.Column(o.IdColumn);
            foreach (var (line, f) in t.Rows)
            {
                if (f[si].Length == 0) throw new DataFormatException($"{path}:{line}: field 'sequence' is empty");
                if (li >= 0 && f[li].Length == 0)
                    throw new DataFormatException($"{path}:{line}: field '{t.Header[li]}' is empty, expected a label");
                recs.Add((line, f[si], li >= 0 ? f[li] : null, pi >= 0 ? Formats.ParseSplit(path, line, o.SplitColumn, f[pi]) : null,
                    ii >= 0 ? f[ii] : $"line {line}"));
            }
        }
        int len = o.Length ?? recs.Max(r => r.Seq.Length);
        if (len < 1) throw new ArgumentException($"--length must be >= 1 (got {len})");
        bool ragged = recs.Any(r => r.Seq.Length != len);
        string alphabet = o.Alphabet ?? new string(recs.SelectMany(r => r.Seq).Distinct().Order().ToArray());
        if (alphabet.Distinct().Count() != alphabet.Length) throw new ArgumentException($"--alphabet '{alphabet}' repeats a symbol");
        int? pad = null;
        if (ragged && alphabet.Contains('\0'))                                  // U+0000 is the padding symbol below
            throw new DataFormatException($"{path}:{recs.First(r => r.Seq.Contains('\0')).Line}: " +
                "the sequence holds a NUL character (U+0000)");
        if (ragged) { alphabet = "\0" + alphabet; pad = 0; }                    // id 0 = padding, excluded from the loss
        var index = alphabet.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        var ids = new long[recs.Count * len];
        for (int i = 0; i < recs.Count; i++)
            for (int p = 0; p < Math.Min(len, recs[i].Seq.Length); p++)
                ids[i * len + p] = index.TryGetValue(recs[i].Seq[p], out var id) ? id
                    : throw new DataFormatException($"{path}:{recs[i].Line}: position {p + 1}: " +
                        $"symbol '{recs[i].Seq[p]}' is not in the alphabet '{alphabet.TrimStart('\0')}'");
        var labels = recs[0].Label is null ? null : recs.Select(r => r.Label!).ToList();
        var isTrain = recs[0].Train is null ? RandomSplit(labels, recs.Count, o.SplitSeed) : recs.Select(r => r.Train!.Value).ToList();
        return Readers.Build(name, path, new TokenSpec(Math.Max(2, alphabet.Length), len, pad), tensor(ids, [recs.Count, len]),
            labels, isTrain, true, recs.Select(r => r.Id).ToList());
    }

    /// <summary>
    /// A CSV of pixel columns, one row per image, plus label / split / id / ignored columns, as a grid spec: the feature
    /// columns in order are the image's C x H x W values (channel first) or H x W x C (channel last, reordered), 8-bit
    /// values 0..255 divided by 255 as the image readers do; patch --patch or the largest side divisor &lt;= side / 6.
    /// </summary>
    static Dataset PixelCsv(string name, string path, ByoOptions o, ImageShape shape)
    {
        if (!File.Exists(path))
            throw new DataFormatException(
                $"{path}: --image-shape reads a CSV of pixel columns (one row per image), found a folder");
        var ignore = (o.IgnoreColumns ?? []).Concat(o.IdColumn is null ? [] : [o.IdColumn]).ToArray();
        var r = Formats.NumericCsv(path, Label(o), o.SplitColumn, ignore);
        int c = shape.Channels, h = shape.Height, w = shape.Width, per = c * h * w;
        if (r.FeatureNames.Length != per)
            throw new DataFormatException($"{path}: --image-shape {shape} needs {per} pixel columns, the header has " +
                $"{r.FeatureNames.Length} ({r.FeatureNames[0]} .. {r.FeatureNames[^1]}; label, split, id and ignored columns " +
                "excluded)");
        int patch = o.Patch ?? ImageShape.DefaultPatch(h, w);
        var spec = new GridSpec(c, h, w, patch, patch);
        spec.Validate();
        var flat = new float[r.Rows.Count * (long)per];
        for (int i = 0; i < r.Rows.Count; i++)
        {
            var row = r.Rows[i];
            if (row.Length != per)
                throw new DataFormatException($"{path}: data row {i + 1} has {row.Length} pixel values, expected {per}");
            for (int k = 0; k < per; k++)
            {
                float v = row[k];
                if (!(v >= 0 && v <= 255))
                    throw new DataFormatException($"{path}: data row {i + 1} field '{r.FeatureNames[k]}' is {v}, " +
                        "expected an 8-bit pixel value 0..255");
                // channel last: column k = (y, x, ch) -> (ch, y, x)
                int dst = shape.ChannelsLast ? (k % c) * h * w + k / c : k;
                flat[i * (long)per + dst] = v / 255f;
            }
        }
        var isTrain = r.HasSplit ? r.IsTrain : RandomSplit(r.Labels, r.Rows.Count, o.SplitSeed);
        var ids = o.IdColumn is null ? null : IdsOf(path, o.IdColumn);
        return Readers.Build(name, path, spec, tensor(flat, [r.Rows.Count, c, h, w]), r.Labels, isTrain, true, ids);
    }

    static List<string> IdsOf(string path, string column)
    {
        var t = CsvTable.Read(path);
        int ii = t.Column(column);
        return t.Rows.Select(row => row.Fields[ii]).ToList();
    }

    // exts: the file endings that count (images: every format the decoder reads; audio: .wav)
    static Dataset Folder(string name, string path, ByoOptions o, string[] exts)
    {
        string ext = string.Join("|", exts);                                    // for messages: ".png|.jpg|..."
        if (!Directory.Exists(path))
            throw new DataFormatException($"{path}: expected a folder with one subfolder of {ext} files per class");
        var files = new List<(string File, string Label, bool? Train)>();
        void Classes(string dir, bool? train)
        {
            var subs = Directory.GetDirectories(dir).Order(StringComparer.Ordinal).ToArray();
            if (subs.Length == 0) throw new DataFormatException($"{dir}: no class subfolders (expected {dir}/CLASS/*{ext})");
            foreach (var s in subs)
            {
                var fs = Directory.GetFiles(s).Where(f => exts.Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
                    .Order(StringComparer.Ordinal).ToArray();
                if (fs.Length == 0) throw new DataFormatException($"{s}: class folder has no {ext} files (empty class)");
                files.AddRange(fs.Select(f => (f, Path.GetFileName(s), train)));
            }
        }
        var top = Directory.GetDirectories(path).Select(Path.GetFileName).ToHashSet();
        if (top.Contains("train") || top.Contains("test"))
        {
            if (!top.Contains("train") || !top.Contains("test"))
                throw new DataFormatException($"{path}: has a '{(top.Contains("train") ? "train" : "test")}' folder " +
                    $"but no '{(top.Contains("train") ? "test" : "train")}' folder (missing split)");
            Classes(Path.Combine(path, "train"), true);
            Classes(Path.Combine(path, "test"), false);
        }
        else Classes(path, null);
        InputSpec spec;
        Func<string, float[]> load;
        if (exts[0] != ".wav")
        {
            var (h, w) = ImageSize(files[0].File);
            int patch = o.Patch ?? Math.Max(1, Math.Min(h, w) / 8);
            spec = new GridSpec(3, h, w, patch, patch);
            load = f => Formats.Png(f, 3, h, w);
        }
        else
        {
            int patch = o.Patch ?? 8;
            spec = new GridSpec(1, Shipped.SpeechMels, Shipped.SpeechFrames, patch, patch);
            load = Shipped.SpeechFeatures;
        }
        spec.Validate();
        long per = spec.RawShape.Aggregate(1L, (a, b) => a * b);
        var flat = new float[files.Count * per];
        for (int i = 0; i < files.Count; i++) Array.Copy(load(files[i].File), 0, flat, i * per, per);
        var labels = files.Select(f => f.Label).ToList();
        var isTrain = files[0].Train is null ? RandomSplit(labels, files.Count, o.SplitSeed) : files.Select(f => f.Train!.Value).ToList();
        var x = tensor(flat, [files.Count, .. spec.RawShape]);
        if (exts[0] == ".wav") x = Formats.Standardize(x, isTrain, null);
        return Readers.Build(name, path, spec, x, labels, isTrain, true, files.Select(f => Path.GetRelativePath(path, f.File)).ToList());
    }

    // The first image's size sets every image's (PNG: read from its header; other formats: decoded).
    static (int H, int W) ImageSize(string file)
    {
        int w, h;
        if (file.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
        {
            var b = File.ReadAllBytes(file);
            if (b.Length < 24 || b[0] != 0x89 || b[1] != 'P' || b[12] != 'I' || b[13] != 'H' || b[14] != 'D' || b[15] != 'R')
                throw new DataFormatException($"{file}: not a PNG file (bad signature or IHDR)");
            w = (b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19];
            h = (b[20] << 24) | (b[21] << 16) | (b[22] << 8) | b[23];
        }
        else (_, w, h) = Dabs.Images.Decode(file);
        if (w < 1 || h < 1 || w > 4096 || h > 4096)
            throw new DataFormatException($"{file}: image size {w}x{h}, expected 1..4096 pixels a side");
        return (h, w);
    }

    static Dataset Series(string name, string path, ByoOptions o)
    {
        RequireFile(path);
        var r = Formats.NumericCsv(path, Label(o), o.SplitColumn, requireLabel: o.LabelColumn is not null);
        int ch = r.FeatureNames.Length, window = o.Length ?? 320, patch = o.Patch ?? 5;
        new SequenceSpec(ch, window, patch).Validate();
        if (r.Labels is null) return Shipped.SeriesWindows(name, path, r.Rows.SelectMany(v => v).ToArray(), ch, window, patch);
        // labelled: windows within runs of one label (and one split)
        var starts = new List<int>();
        int runStart = 0;
        for (int i = 1; i <= r.Rows.Count; i++)
            if (i == r.Rows.Count || r.Labels[i] != r.Labels[runStart] || r.IsTrain[i] != r.IsTrain[runStart])
            {
                for (int s = runStart; s + window <= i; s += window) starts.Add(s);
                runStart = i;
            }
        if (starts.Count == 0)
            throw new DataFormatException($"{path}: no run of one label is {window} rows long " +
                "(set --length to a shorter window)");
        var flat = new float[starts.Count * ch * window];
        for (int k = 0; k < starts.Count; k++)
            for (int c = 0; c < ch; c++) for (int t = 0; t < window; t++) flat[(k * ch + c) * window + t] = r.Rows[starts[k] + t][c];
        var labels = starts.Select(s => r.Labels[s]).ToList();
        var isTrain = r.HasSplit ? starts.Select(s => r.IsTrain[s]).ToList() : RandomSplit(labels, starts.Count, o.SplitSeed);
        var x = Formats.Standardize(tensor(flat, [starts.Count, ch, window]), isTrain, 1);
        return Readers.Build(name, path, new SequenceSpec(ch, window, patch), x, labels, isTrain, true,
            starts.Select(st => $"rows {st + 1}-{st + window}").ToList());
    }

    /// <summary>Stratified (by label when labelled) seeded 80/20 split: per class, round(0.2 n) rows go to test.</summary>
    public static List<bool> RandomSplit(List<string>? labels, int n, int seed)
    {
        var rng = new Random(seed);
        var isTrain = Enumerable.Repeat(true, n).ToList();
        var groups = labels is null ? [Enumerable.Range(0, n).ToArray()]
            : Enumerable.Range(0, n).GroupBy(i => labels[i]).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToArray()).ToList();
        foreach (var g in groups)
        {
            rng.Shuffle(g);
            int nt = (int)Math.Floor(0.2 * g.Length + 0.5);
            if (g.Length - nt < 1) nt = g.Length - 1;
            foreach (var i in g.Take(nt)) isTrain[i] = false;
        }
        return isTrain;
    }
}
