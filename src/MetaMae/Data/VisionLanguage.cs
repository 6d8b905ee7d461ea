using System.Text.Json;
using MetaMae.Modalities;
using Microsoft.ML.Tokenizers;
using static TorchSharp.torch;

namespace MetaMae.Data;

/// <summary>What labels an image + caption dataset carries.</summary>
public enum CaptionTask
{
    /// <summary>The image's own caption; label = the image's category (pretraining set).</summary>
    Category,
    /// <summary>Mismatched-caption detection: with probability 0.5 (seeded) the caption is another sample's; label
    /// matched / swapped.</summary>
    Mismatch,
    /// <summary>VQA-style: "is this a CATEGORY?" with the true category or another one (50/50, seeded); label yes / no.</summary>
    Vqa,
}

/// <summary>
/// Vision-language data (paper Table 3: MSCOCO pretraining, VQA and mismatched-caption probes): an image
/// grid plus a caption of word pieces (bert-base-uncased WordPiece, [CLS] ... [SEP], [PAD] = 0), packed
/// into one <see cref="MultiInputSpec"/> sample. Readers for the shipped emoji set and the real MSCOCO / VQA formats.
/// </summary>
public static class VisionLanguage
{
    public const int CaptionLength = 32, BertVocab = 30522, PadId = 0, ClsId = 101, SepId = 102;

    /// <summary>Image (3 x side x side, patch) + caption (BERT word pieces, 32 tokens, padding 0).</summary>
    public static MultiInputSpec Spec(int side = 32, int patch = 4, int captionLength = CaptionLength) =>
        new([new GridSpec(3, side, side, patch, patch), new TokenSpec(BertVocab, captionLength, PadId)]);

    private static readonly Dictionary<string, BertTokenizer> cache = [];

    /// <summary>The WordPiece tokenizer of a vocab.txt (lower-cases; one instance per file).</summary>
    public static BertTokenizer Tokenizer(string vocabPath)
    {
        var full = Path.GetFullPath(vocabPath);
        lock (cache)
        {
            if (cache.TryGetValue(full, out var t)) return t;
            if (!File.Exists(full)) throw new DataFormatException($"{full}: WordPiece vocabulary file not found");
            try { t = BertTokenizer.Create(full); }
            catch (Exception e) when (e is not DataFormatException)
            {
                throw new DataFormatException($"{full}: cannot read the WordPiece vocabulary ({e.Message})");
            }
            cache[full] = t;
            return t;
        }
    }

    /// <summary>Word-piece ids of a text: [CLS] ... [SEP], cropped to length (keeping [SEP] last) and padded with [PAD] = 0.</summary>
    public static long[] Encode(BertTokenizer tok, string text, int length = CaptionLength)
    {
        if (length < 2) throw new ArgumentException($"caption length must be >= 2 (got {length})");
        var ids = tok.EncodeToIds(text);
        var o = new long[length];
        int n = Math.Min(ids.Count, length);
        for (int i = 0; i < n; i++) o[i] = ids[i];
        if (ids.Count > length) o[length - 1] = ids[^1];   // [SEP] stays last
        return o;
    }

    /// <summary>The shipped vocabulary beside a data folder entry: DATA/bert-base-uncased/vocab.txt.</summary>
    public static string VocabBeside(string pathInData) =>
        Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(pathInData)))!, "bert-base-uncased", "vocab.txt");

    /// <summary>One image + text sample before packing.</summary>
    public sealed record Sample(float[] Image, string Caption, string Category, bool IsTrain);

    /// <summary>data/emoji/index.csv (file, caption, category, split) -> image + caption samples.</summary>
    public static Dataset EmojiCaptions(string indexPath, CaptionTask task, int seed = 0)
    {
        var t = CsvTable.Read(indexPath);
        int fi = t.Column("file"), ci = t.Column("caption"), ki = t.Column("category"), pi = t.Column("split");
        string dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var samples = new List<Sample>();
        foreach (var (line, f) in t.Rows)
        {
            if (f[fi].Length == 0 || Path.IsPathRooted(f[fi]) || f[fi].Split('/', '\\').Contains(".."))
                throw new DataFormatException($"{indexPath}:{line}: field 'file' is '{f[fi]}', expected a relative path inside {dir}");
            if (f[ci].Trim().Length == 0) throw new DataFormatException($"{indexPath}:{line}: field 'caption' is empty, expected a text");
            if (f[ki].Length == 0) throw new DataFormatException($"{indexPath}:{line}: field 'category' is empty, expected a label");
            float[] img;
            try { img = Formats.Png(Path.Combine(dir, f[fi]), 3, 32, 32); }
            catch (DataFormatException e) { throw new DataFormatException($"{indexPath}:{line}: {e.Message}"); }
            samples.Add(new Sample(img, f[ci], f[ki], Formats.ParseSplit(indexPath, line, "split", f[pi])));
        }
        var name = task switch
        {
            CaptionTask.Mismatch => "emoji-captions-mismatch",
            CaptionTask.Vqa => "emoji-captions-vqa",
            _ => "emoji-captions",
        };
        return Build(name, indexPath, Spec(), Tokenizer(VocabBeside(indexPath)), samples, task, seed);
    }

    /// <summary>
    /// Packs samples into a dataset of the task. Mismatch: within each split, each sample's caption is
    /// replaced with probability 0.5 by the caption of another sample with a different caption (System.Random(seed)).
    /// Vqa: the text is "is this a CATEGORY?" with the true category or, with probability 0.5, another one.
    /// </summary>
    public static Dataset Build(string name, string where, MultiInputSpec spec, BertTokenizer tok,
        IReadOnlyList<Sample> samples,
        CaptionTask task, int seed = 0)
    {
        if (spec.Inputs.Count != 2 || spec.Inputs[0] is not GridSpec g || spec.Inputs[1] is not TokenSpec ts)
            throw new ArgumentException($"an image + caption dataset needs a grid input then a token input, not {spec.Describe()}");
        long imgN = g.RawShape.Aggregate(1L, (a, b) => a * b), per = imgN + ts.Length;
        var rng = new Random(seed);
        var categories = samples.Select(s => s.Category).Distinct().Order(StringComparer.Ordinal).ToArray();
        var flat = new float[samples.Count * per];
        var labels = new List<string>();
        var isTrain = new List<bool>();
        for (int i = 0; i < samples.Count; i++)
        {
            var s = samples[i];
            if (s.Image.Length != imgN)
                throw new DataFormatException($"{where}: sample {i + 1} has {s.Image.Length} image values, " +
                    $"expected {imgN} for {g.Describe()}");
            string text = s.Caption, label = s.Category;
            if (task == CaptionTask.Mismatch)
            {
                var others = Enumerable.Range(0, samples.Count)
                    .Where(j => samples[j].IsTrain == s.IsTrain && samples[j].Caption != s.Caption).ToArray();
                bool swap = rng.NextDouble() < 0.5;
                if (swap && others.Length == 0)
                    throw new DataFormatException($"{where}: sample {i + 1} has no other caption in its split " +
                        "to swap with");
                int pick = others.Length > 0 ? rng.Next(others.Length) : 0;
                if (swap) text = samples[others[pick]].Caption;
                label = swap ? "swapped" : "matched";
            }
            else if (task == CaptionTask.Vqa)
            {
                if (categories.Length < 2)
                    throw new DataFormatException($"{where}: a yes/no question about the category needs at least 2 " +
                        $"categories (got {categories.Length})");
                bool yes = rng.NextDouble() < 0.5;
                var wrong = categories.Where(c => c != s.Category).ToArray();
                string asked = yes ? s.Category : wrong[rng.Next(wrong.Length)];
                text = $"is this a {asked.ToLowerInvariant()}?";
                label = yes ? "yes" : "no";
            }
            Array.Copy(s.Image, 0, flat, i * per, imgN);
            var ids = Encode(tok, text, ts.Length);
            for (int k = 0; k < ts.Length; k++) flat[i * per + imgN + k] = ids[k];
            labels.Add(label);
            isTrain.Add(s.IsTrain);
        }
        var x = tensor(flat, [samples.Count, per]);
        return Readers.Build(name, where, spec, x, labels, isTrain, true);
    }

    // ---------------------------------------------------------------- real MSCOCO / VQA formats

    static JsonElement Root(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException($"{path}: file not found");
        try { using var doc = JsonDocument.Parse(File.ReadAllText(path)); return doc.RootElement.Clone(); }
        catch (JsonException e) { throw new DataFormatException($"{path}: malformed JSON ({e.Message})"); }
    }

    static JsonElement JArray(string path, JsonElement root, string field)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(field, out var a) || a.ValueKind != JsonValueKind.Array)
            throw new DataFormatException($"{path}: expected a top-level object with an array '{field}'");
        return a;
    }

    static long Id(string path, string arr, int i, JsonElement e, string field)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(field, out var v)
            || v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long id))
            throw new DataFormatException($"{path}: {arr}[{i}].{field}: expected an integer");
        return id;
    }

    static string Str(string path, string arr, int i, JsonElement e, string field)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(field, out var v)
            || v.ValueKind != JsonValueKind.String || v.GetString()!.Trim().Length == 0)
            throw new DataFormatException($"{path}: {arr}[{i}].{field}: expected a non-empty string");
        return v.GetString()!;
    }

    /// <summary>COCO "images": id -> file_name, each image decoded and resized (bilinear) to side x side.</summary>
    static Dictionary<long, float[]> CocoImages(string json, JsonElement root, string imageDir, int side)
    {
        if (!Directory.Exists(imageDir)) throw new DataFormatException($"{imageDir}: image folder not found");
        var imgs = new Dictionary<long, float[]>();
        int i = 0;
        foreach (var e in JArray(json, root, "images").EnumerateArray())
        {
            long id = Id(json, "images", i, e, "id");
            string file = Str(json, "images", i, e, "file_name");
            if (Path.IsPathRooted(file) || file.Split('/', '\\').Contains(".."))
                throw new DataFormatException($"{json}: images[{i}].file_name is '{file}', expected a name inside {imageDir}");
            if (imgs.ContainsKey(id)) throw new DataFormatException($"{json}: images[{i}].id {id} occurs twice");
            var path = Path.Combine(imageDir, file);
            if (!File.Exists(path)) throw new DataFormatException($"{json}: images[{i}].file_name '{file}' not found in {imageDir}");
            var (chw, w, h) = Dabs.Images.Decode(path);
            imgs[id] = Dabs.DabsIo.Resize(chw, 3, h, w, side, side);
            i++;
        }
        return imgs;
    }

    /// <summary>
    /// MSCOCO captions (captions_train2017.json layout: images[{id, file_name}], annotations[{image_id, caption}])
    /// plus its image folder: one sample per caption, image resized to side x side. Category = "coco" (no labels).
    /// </summary>
    public static List<Sample> CocoCaptions(string annotationsJson, string imageDir, bool isTrain, int side = 32, int maxCaptions = 0)
    {
        var root = Root(annotationsJson);
        var imgs = CocoImages(annotationsJson, root, imageDir, side);
        var o = new List<Sample>();
        int i = 0;
        foreach (var e in JArray(annotationsJson, root, "annotations").EnumerateArray())
        {
            long id = Id(annotationsJson, "annotations", i, e, "image_id");
            string cap = Str(annotationsJson, "annotations", i, e, "caption");
            if (!imgs.TryGetValue(id, out var img))
                throw new DataFormatException($"{annotationsJson}: annotations[{i}].image_id {id} is not in 'images'");
            o.Add(new Sample(img, cap, "coco", isTrain));
            i++;
            if (maxCaptions > 0 && o.Count >= maxCaptions) break;
        }
        if (o.Count == 0) throw new DataFormatException($"{annotationsJson}: no annotations");
        return o;
    }

    /// <summary>
    /// VQA v2 yes/no subset: questions JSON (questions[{image_id, question, question_id}]), annotations JSON
    /// (annotations[{question_id, multiple_choice_answer, answer_type}]) and a COCO-style images JSON
    /// (images[{id, file_name}]) with its folder. Keeps answer_type "yes/no" with answer yes or no; the
    /// question is the text input, the answer the label.
    /// </summary>
    public static List<Sample> VqaYesNo(string questionsJson, string annotationsJson, string imagesJson, string imageDir,
        bool isTrain, int side = 32)
    {
        var imgs = CocoImages(imagesJson, Root(imagesJson), imageDir, side);
        var answers = new Dictionary<long, string>();
        int i = 0;
        foreach (var e in JArray(annotationsJson, Root(annotationsJson), "annotations").EnumerateArray())
        {
            long qid = Id(annotationsJson, "annotations", i, e, "question_id");
            string type = Str(annotationsJson, "annotations", i, e, "answer_type");
            string ans = Str(annotationsJson, "annotations", i, e, "multiple_choice_answer").Trim().ToLowerInvariant();
            if (type == "yes/no")
            {
                if (ans is not ("yes" or "no"))
                    throw new DataFormatException($"{annotationsJson}: annotations[{i}].multiple_choice_answer is " +
                        $"'{ans}', expected yes or no for answer_type yes/no");
                answers[qid] = ans;
            }
            i++;
        }
        var o = new List<Sample>();
        i = 0;
        foreach (var e in JArray(questionsJson, Root(questionsJson), "questions").EnumerateArray())
        {
            long id = Id(questionsJson, "questions", i, e, "image_id");
            long qid = Id(questionsJson, "questions", i, e, "question_id");
            string q = Str(questionsJson, "questions", i, e, "question");
            if (answers.TryGetValue(qid, out var a))
            {
                if (!imgs.TryGetValue(id, out var img))
                    throw new DataFormatException(
                        $"{questionsJson}: questions[{i}].image_id {id} is not in {imagesJson}");
                o.Add(new Sample(img, q, a, isTrain));
            }
            i++;
        }
        if (o.Count == 0) throw new DataFormatException($"{questionsJson}: no yes/no questions with an answer in {annotationsJson}");
        return o;
    }
}
