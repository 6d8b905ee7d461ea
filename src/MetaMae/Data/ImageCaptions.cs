namespace MetaMae.Data;

/// <summary>
/// Image + caption pairs from a CSV (`--modality image-caption`): columns file and caption, optional label and
/// split; each file is an image (PNG, JPEG, BMP, ...) relative to the CSV's folder, decoded and resized
/// (bilinear) to 3 x 32 x 32. Captions become bert-base-uncased word pieces (the shipped vocabulary) and are
/// packed with the image exactly as emoji-captions is (<see cref="VisionLanguage.Build"/>). Without a split
/// column, the seeded stratified 80/20 split of every reader; without a label column the data is unlabeled.
/// </summary>
public static class ImageCaptions
{
    public static Dataset Read(string name, string path, ByoOptions o)
    {
        var t = CsvTable.Read(path);
        int fi = t.Column("file"), ci = t.Column("caption");
        string labelColumn = o.LabelColumn ?? "label";
        int li = Array.IndexOf(t.Header, labelColumn);
        if (o.LabelColumn is not null && li < 0) t.Column(o.LabelColumn);       // asked for: an error naming it
        int pi = Array.IndexOf(t.Header, o.SplitColumn);
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var images = new List<float[]>();
        var captions = new List<string>();
        var labels = li >= 0 ? new List<string>() : null;
        var split = new List<bool>();
        var ids = new List<string>();
        foreach (var (line, f) in t.Rows)
        {
            var file = f[fi];
            if (file.Length == 0 || Path.IsPathRooted(file) || file.Split('/', '\\').Contains(".."))
                throw new DataFormatException($"{path}:{line}: field 'file' is '{file}', expected a path relative to {dir}");
            var full = Path.Combine(dir, file);
            if (!File.Exists(full)) throw new DataFormatException($"{path}:{line}: field 'file': {full} not found");
            if (f[ci].Trim().Length == 0) throw new DataFormatException($"{path}:{line}: field 'caption' is empty, expected a text");
            if (labels is not null)
            {
                if (f[li].Length == 0) throw new DataFormatException($"{path}:{line}: field '{t.Header[li]}' is empty, expected a label");
                labels.Add(f[li]);
            }
            (float[] Chw, int W, int H) img;
            try { img = Dabs.Images.Decode(full); }
            catch (Exception e) when (e is DataFormatException or InvalidDataException)
            {
                throw new DataFormatException($"{path}:{line}: field 'file': {e.Message}");
            }
            images.Add(Dabs.DabsIo.Resize(img.Chw, 3, img.H, img.W, 32, 32));
            captions.Add(f[ci]);
            split.Add(pi < 0 || Formats.ParseSplit(path, line, t.Header[pi], f[pi]));
            ids.Add(file);
        }
        var isTrain = pi >= 0 ? split : ByoData.RandomSplit(labels, t.Rows.Count, o.SplitSeed);
        var samples = images.Select((im, i) => new VisionLanguage.Sample(im, captions[i], labels?[i] ?? "none", isTrain[i])).ToList();
        var vocab = Path.Combine(Catalog.DataRoot(o.DataDir), "bert-base-uncased", "vocab.txt");
        var ds = VisionLanguage.Build(name, path, VisionLanguage.Spec(), VisionLanguage.Tokenizer(vocab), samples, CaptionTask.Category);
        if (pi >= 0 && ds.Test is null) throw new DataFormatException($"{path}: no rows with split 'test'");
        var train = labels is null ? new Split(ds.Train.X, null) : ds.Train;
        var test = ds.Test is null ? null : labels is null ? new Split(ds.Test.X, null) : ds.Test;
        train.Ids = Enumerable.Range(0, ids.Count).Where(i => isTrain[i]).Select(i => ids[i]).ToArray();
        if (test is not null) test.Ids = Enumerable.Range(0, ids.Count).Where(i => !isTrain[i]).Select(i => ids[i]).ToArray();
        return new Dataset(name, ds.Spec, train, test, labels is null ? [] : ds.ClassNames);
    }
}
