using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Objectives;
using MetaMae.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>Vision-language: multi-input spec, two-input MetaMAE (second order), WordPiece captions, emoji-captions probes, MSCOCO / VQA readers.</summary>
public class VisionLanguageTests
{
    static readonly MultiInputSpec Two = new([new GridSpec(2, 4, 4, 2, 2), new TokenSpec(7, 6, 0)]);

    static Tensor RawTwo(int b, int seed)
    {
        manual_seed(seed);
        var img = randn(b, 2 * 4 * 4, dtype: ScalarType.Float64);
        var ids = randint(1, 7, [b, 6]).to(ScalarType.Float64);
        ids[.., 4..] = 0;   // padding at the end
        return cat([img, ids], 1);
    }

    [Fact]
    public void PackUnpackAndPatchifyRoundTrip()
    {
        Assert.Equal([32L + 6], Two.RawShape);
        Assert.Equal(4 + 6, Two.NumTokens);
        Assert.Equal(8, Two.TokenWidth);                      // 2 x 2 x 2 image values; ids take column 0
        var raw = RawTwo(3, 1);
        var tok = Two.Patchify(raw);
        Assert.Equal([3L, 10, 8], tok.shape);
        var img = Two.Unpack(tok, 0);
        Assert.True(T.Same(img, Two.Inputs[0].Patchify(raw[.., ..32].reshape(3, 2, 4, 4))));
        var ids = Two.Unpack(tok, 1);
        Assert.Equal(ScalarType.Int64, ids.dtype);
        Assert.True(T.Same(ids, raw[.., 32..].to(ScalarType.Int64)));
        Assert.Equal(0.0, tok[.., 4.., 1..].abs().sum().ToDouble());   // unused columns of id tokens are 0
        Assert.True(T.Same(Two.Unpatchify(tok), raw));
        Assert.Throws<ArgumentException>(() => Two.Patchify(raw[.., 1..]));
    }

    [Fact]
    public void SpecEqualityAndJsonRoundTrip()
    {
        var again = new MultiInputSpec([new GridSpec(2, 4, 4, 2, 2), new TokenSpec(7, 6, 0)]);
        Assert.Equal(Two, again);
        Assert.Equal(Two.GetHashCode(), again.GetHashCode());
        Assert.NotEqual(Two, new MultiInputSpec([new GridSpec(2, 4, 4, 2, 2), new TokenSpec(7, 6, null)]));
        var json = System.Text.Json.JsonSerializer.Serialize<InputSpec>(Two);
        Assert.Contains("\"multi\"", json);
        Assert.Equal(Two, System.Text.Json.JsonSerializer.Deserialize<InputSpec>(json));
        Assert.Throws<ArgumentException>(() => new MultiInputSpec([new TokenSpec(7, 6)]).Validate());
    }

    [Fact]
    public void NearbySWorksInsideEachInputsOwnGrid()
    {
        // image 2x2 grid (tokens 0..3) then 6 word pieces (tokens 4..9)
        var mask = tensor(new float[] { 0, 1, 1, 1, /* | */ 1, 0, 1, 1, 1, 0 }).unsqueeze(0);
        var near = Two.NearbyMasked(mask);
        // image: token 0 visible -> right (1) and below (2) are nearby; 3 (diagonal) is not.
        // tokens: 5 visible -> 4 and 6; 9 visible -> 8; 7 is not. Token 4 is NOT near image token 3 (different inputs).
        Assert.Equal(new float[] { 0, 1, 1, 0, 1, 0, 1, 0, 1, 0 }, near.squeeze(0).data<float>().ToArray());
        var mask2 = tensor(new float[] { 1, 1, 1, 0, 1, 1, 1, 1, 1, 1 }).unsqueeze(0);
        // as one 1D sequence token 4 would be next to visible token 3; per input it is not
        Assert.Equal(new float[] { 0, 1, 1, 0, 0, 0, 0, 0, 0, 0 }, Two.NearbyMasked(mask2).squeeze(0).data<float>().ToArray());
    }

    static readonly ModelConfig Small = ModelConfig.Tiny with
    {
        EncDim = 16, EncDepth = 2, EncHeads = 2, EncMlp = 32, DecDim = 8, DecDepth = 1, DecHeads = 2, DecMlp = 16, ProjHidden = 32, ProjDim = 8,
    };

    static (MetaMaeModel, Tensor) Setup()
    {
        manual_seed(0);
        var model = new MetaMaeModel(Two, Small);
        model.to(ScalarType.Float64);
        model.train();
        return (model, Two.Patchify(RawTwo(4, 1)));
    }

    static double Loss(MetaMaeModel model, Tensor tokens, ObjectiveOptions o)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator().manual_seed(7);
        return new MetaMaeObjective(o).Loss(model, tokens, gen).Total.ToDouble();
    }

    static Dictionary<string, Tensor> Grads(MetaMaeModel model, Tensor tokens, ObjectiveOptions o)
    {
        foreach (var p in model.parameters()) p.grad = null;
        using var gen = new Generator().manual_seed(7);
        new MetaMaeObjective(o).Loss(model, tokens, gen).Total.backward();
        return model.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.clone());
    }

    [Fact]
    public void ModelHasPerInputEmbeddingsPositionsHeadsAndTypeEmbeddings()
    {
        var (model, tokens) = Setup();
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("embed.embeds.0.weight", names);       // Linear(8, D) for the image
        Assert.Contains("embed.embeds.1.weight", names);       // Embedding(7, D) for the word pieces
        Assert.Contains("embed.type_embed", names);
        Assert.Contains("decoder_type_embed", names);
        Assert.Contains("decoder_heads.heads.0.weight", names);
        Assert.DoesNotContain("decoder_pred.weight", names);
        Assert.Equal(new long[] { 8, 16 }, model.named_parameters().Single(p => p.name == "embed.embeds.0.weight").parameter.shape.Reverse().ToArray());
        // each input's positions restart: the first word piece has the position of a 1D sequence's first token, not the 5th token's
        using var pos = model.named_buffers().Single(b => b.name == "pos_embed").buffer;
        Assert.Equal(new long[] { 1, 11, 16 }, pos.shape);
        Assert.True(T.Same(pos[.., 5..], Positions.Table(16, 1, 6)[.., 1..].to(ScalarType.Float64)));
        Assert.True(T.Same(pos[.., 1..5], Positions.Table(16, 2, 2)[.., 1..].to(ScalarType.Float64)));
        // input-type embedding: the same id in the two inputs is embedded differently even with equal raw content
        var preds = model.DecodeInputs(model.Encode(model.Embed(tokens)), null);
        Assert.Equal(new long[] { 4, 4, 8 }, preds[0].shape);
        Assert.Equal(new long[] { 4, 6, 7 }, preds[1].shape);
        Assert.Throws<NotSupportedException>(() => model.Decode(model.Encode(model.Embed(tokens)), null));
    }

    [Fact]
    public void MultiLossIsTheMeanOfPerInputLossesWithPaddingExcluded()
    {
        var (model, tokens) = Setup();
        using var _ = no_grad();
        var latent = model.Encode(model.Embed(tokens));
        var sel = ones(4, 10, dtype: ScalarType.Float64);
        sel[.., 1] = 0;
        var preds = model.DecodeInputs(latent, null);
        var a = Losses.Reconstruction(Two.Inputs[0], preds[0], Two.Unpack(tokens, 0), sel[.., ..4]);
        var b = Losses.Reconstruction(Two.Inputs[1], preds[1], Two.Unpack(tokens, 1), sel[.., 4..]);
        Assert.Equal(((a + b) / 2).ToDouble(), Losses.Reconstruction(model, latent, null, tokens, sel).ToDouble(), 12);
        // padding: changing the predictions' targets at padded positions changes nothing
        var t2 = tokens.clone();
        t2[.., 8.., 0] = 0;   // already padding
        Assert.Equal(Losses.Reconstruction(model, latent, null, tokens, sel).ToDouble(), Losses.Reconstruction(model, latent, null, t2, sel).ToDouble(), 12);
    }

    [Fact]
    public void SecondOrderGradientOfTwoInputModelMatchesFiniteDifferences()
    {
        var (model, tokens) = Setup();
        var so = new ObjectiveOptions { MaskRatio = 0.5, Alpha = 0.5, Lambda = 1.0, NearbyRatio = 0.5 };
        var fo = so with { SecondOrder = false };
        var gSo = Grads(model, tokens, so);
        var gFo = Grads(model, tokens, fo);
        Assert.Contains("embed.embeds.1.weight", gSo.Keys);
        Assert.Contains("embed.type_embed", gSo.Keys);
        Assert.Equal(Loss(model, tokens, so), Loss(model, tokens, fo), 12);
        GradientTests.AssertFiniteDifferenceSeparatesOrders(model, "blocks.0.mlp.fc1.weight", gSo, gFo, () => Loss(model, tokens, so));
        // and along a random direction over every parameter
        GradientTests.AssertDirectionalDerivativeMatches(model, gSo, () => Loss(model, tokens, so));
    }

    static string Vocab => VisionLanguage.VocabBeside(Path.Combine(Catalog.DataRoot(), "emoji", "index.csv"));

    [Fact]
    public void WordPieceTokenizerGivesBertIds()
    {
        var tok = VisionLanguage.Tokenizer(Vocab);
        var ids = VisionLanguage.Encode(tok, "Hello World");
        Assert.Equal(32, ids.Length);
        Assert.Equal(new long[] { 101, 7592, 2088, 102 }, ids[..4]);
        Assert.All(ids[4..], v => Assert.Equal(0L, v));
        var longIds = VisionLanguage.Encode(tok, string.Join(" ", Enumerable.Repeat("cat", 50)), 8);
        Assert.Equal(new long[] { 101, 4937, 4937, 4937, 4937, 4937, 4937, 102 }, longIds);
        Assert.Throws<DataFormatException>(() => VisionLanguage.Tokenizer("/nonexistent/vocab.txt"));
    }

    [Fact]
    public void EmojiCaptionProbesAreBalancedAndSeeded()
    {
        var pre = Catalog.Load("emoji-captions");
        var mis = Catalog.Load("emoji-captions-mismatch");
        var vqa = Catalog.Load("emoji-captions-vqa");
        Assert.Equal(pre.Spec, mis.Spec);
        Assert.Equal(pre.Spec, vqa.Spec);
        Assert.Equal(["matched", "swapped"], mis.ClassNames);
        Assert.Equal(["no", "yes"], vqa.ClassNames);
        var spec = (MultiInputSpec)pre.Spec;
        foreach (var (a, b) in new[] { (pre.Train, mis.Train), (pre.Test!, mis.Test!) })
        {
            Assert.True(T.Same(a.X[.., ..3072], b.X[.., ..3072]));           // same images in the same order
            var same = a.X[.., 3072..].eq(b.X[.., 3072..]).all(1);
            for (int i = 0; i < a.Count; i++)
                Assert.Equal(b.Labels![i] == 0, same[i].item<bool>());     // matched <=> own caption
            double swapped = b.Labels!.Average(l => (double)l);
            Assert.InRange(swapped, 0.4, 0.6);
        }
        Assert.InRange(vqa.Train.Labels!.Average(l => (double)l), 0.4, 0.6);
        var tok = VisionLanguage.Tokenizer(Vocab);
        var q0 = spec.Unpack(spec.Patchify(vqa.Train.X[..1]), 1)[0];
        var yes = VisionLanguage.Encode(tok, $"is this a {pre.ClassNames[pre.Train.Labels![0]].ToLowerInvariant()}?");
        Assert.Equal(vqa.Train.Labels![0] == 1, q0.data<long>().SequenceEqual(yes));
        Assert.True(T.Same(Catalog.Load("emoji-captions-mismatch").Train.X, mis.Train.X));   // seeded
    }

    [Theory]
    [InlineData("metamae")]
    [InlineData("mae")]
    [InlineData("shed")]
    public void RunOnEmojiCaptionsThenProbeTheTransferTasks(string algo)
    {
        var ds = Catalog.Load("emoji-captions");
        var entry = Catalog.Get("emoji-captions");
        bool adapt = algo == "metamae";
        var obj = entry.Preset.Objective(adapt);
        if (algo == "shed") obj = obj with { MaskRatio = Algorithms.Get("shed").MaskRatio!.Value, Temperature = Algorithms.Get("shed").Temperature!.Value };
        var cfg = new RunConfig(algo, "emoji-captions", ds.Spec, entry.Preset.Apply(ModelConfig.Tiny with { EncDim = 32, EncMlp = 64, DecDim = 16, DecMlp = 32 }), obj,
            new TrainOptions { Steps = 2, Batch = 8, LogEvery = 1 });
        var dir = Tmp.Dir("vl-" + algo);
        var pre = Pretrainer.Run(ds.Train.X, cfg, dir);
        Assert.All(pre.Losses, l => Assert.True(double.IsFinite(l.Loss)));
        var loaded = Checkpoint.LoadModel(pre.CheckpointPath);
        Assert.Equal(ds.Spec, loaded.Spec);
        var mis = Catalog.Load("emoji-captions-mismatch");
        var r = LinearProbe.Run(loaded, mis, new ProbeOptions { Epochs = 1, Batch = 64 });
        Assert.InRange(r.Test, 0.0, 1.0);
        Assert.Equal(mis.Test!.Count, r.TestCount);
    }

    [Fact]
    public void MaeDabsRefusesMultiInputSpecs()
    {
        var e = Assert.Throws<NotSupportedException>(() => Algorithms.CreateObjective("mae-dabs", Two, Small, new ObjectiveOptions()));
        Assert.Contains("multi-input", e.Message);
    }

    // ---------------------------------------------------------------- MSCOCO / VQA readers on fixtures

    static string Fixture()
    {
        var d = Tmp.Dir("coco");
        Directory.CreateDirectory(Path.Combine(d, "img"));
        for (int k = 0; k < 3; k++)
        {
            var rgb = new byte[8 * 6 * 3];
            for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)(k * 60 + i % 50);
            File.WriteAllBytes(Path.Combine(d, "img", $"im{k}.png"), PngWriter.Rgb(8, 6, rgb));
        }
        File.WriteAllText(Path.Combine(d, "captions.json"), """
            {"info": {}, "images": [{"id": 10, "file_name": "im0.png", "width": 8}, {"id": 11, "file_name": "im1.png"}, {"id": 12, "file_name": "im2.png"}],
             "annotations": [{"id": 1, "image_id": 10, "caption": "A cat on a mat."}, {"id": 2, "image_id": 11, "caption": "Two dogs"},
                             {"id": 3, "image_id": 10, "caption": "a small cat"}, {"id": 4, "image_id": 12, "caption": "a red bus"}]}
            """);
        File.WriteAllText(Path.Combine(d, "questions.json"), """
            {"questions": [{"image_id": 10, "question": "Is there a cat?", "question_id": 100}, {"image_id": 11, "question": "How many dogs?", "question_id": 101},
                           {"image_id": 12, "question": "Is it red?", "question_id": 102}, {"image_id": 11, "question": "Is it a cat?", "question_id": 103}]}
            """);
        File.WriteAllText(Path.Combine(d, "answers.json"), """
            {"annotations": [{"question_id": 100, "multiple_choice_answer": "yes", "answer_type": "yes/no"},
                             {"question_id": 101, "multiple_choice_answer": "2", "answer_type": "number"},
                             {"question_id": 102, "multiple_choice_answer": "Yes", "answer_type": "yes/no"},
                             {"question_id": 103, "multiple_choice_answer": "no", "answer_type": "yes/no"}]}
            """);
        return d;
    }

    [Fact]
    public void CocoAndVqaReadersOnFixtures()
    {
        var d = Fixture();
        var caps = VisionLanguage.CocoCaptions(Path.Combine(d, "captions.json"), Path.Combine(d, "img"), true, side: 4);
        Assert.Equal(["A cat on a mat.", "Two dogs", "a small cat", "a red bus"], caps.Select(c => c.Caption));
        Assert.Equal(3 * 4 * 4, caps[0].Image.Length);
        Assert.Equal(caps[0].Image, caps[2].Image);                  // same image id
        var (chw, w, h) = Data.Dabs.Images.Decode(Path.Combine(d, "img", "im1.png"));
        Assert.Equal((8, 6), (w, h));
        Assert.Equal(60 / 255f, chw[0]);
        Assert.InRange(caps[1].Image[0], 60 / 255f - 1e-6, 110 / 255f);   // resized from the 8x6 image of im1 (values 60..109)
        Assert.NotEqual(caps[1].Image, caps[3].Image);

        var q = VisionLanguage.VqaYesNo(Path.Combine(d, "questions.json"), Path.Combine(d, "answers.json"), Path.Combine(d, "captions.json"), Path.Combine(d, "img"), false, side: 4);
        Assert.Equal(["Is there a cat?", "Is it red?", "Is it a cat?"], q.Select(s => s.Caption));
        Assert.Equal(["yes", "yes", "no"], q.Select(s => s.Category));

        // packed into the image + caption spec with the real tokenizer
        var tok = VisionLanguage.Tokenizer(Vocab);
        var spec = VisionLanguage.Spec(side: 4, patch: 2, captionLength: 8);
        var all = caps.Select((c, i) => c with { IsTrain = i < 2, Category = i % 2 == 0 ? "a" : "b" }).ToList();
        var ds = VisionLanguage.Build("coco", d, spec, tok, all, CaptionTask.Category);
        Assert.Equal(2, ds.Train.Count);
        var ids = spec.Unpack(spec.Patchify(ds.Train.X), 1);
        Assert.Equal(VisionLanguage.Encode(tok, "A cat on a mat.", 8), ids[0].data<long>().ToArray());
    }

    [Fact]
    public void ReadersNameFileAndField()
    {
        var d = Fixture();
        string caps = Path.Combine(d, "captions.json"), img = Path.Combine(d, "img");
        File.WriteAllText(caps, """{"images": [{"id": 10, "file_name": "im0.png"}], "annotations": [{"image_id": 99, "caption": "x"}]}""");
        var e = Assert.Throws<DataFormatException>(() => VisionLanguage.CocoCaptions(caps, img, true));
        Assert.Contains("annotations[0].image_id 99", e.Message);
        File.WriteAllText(caps, """{"images": [{"id": "ten", "file_name": "im0.png"}], "annotations": []}""");
        e = Assert.Throws<DataFormatException>(() => VisionLanguage.CocoCaptions(caps, img, true));
        Assert.Contains("images[0].id", e.Message);
        File.WriteAllText(caps, """{"images": [{"id": 1, "file_name": "../x.png"}], "annotations": []}""");
        Assert.Contains("images[0].file_name", Assert.Throws<DataFormatException>(() => VisionLanguage.CocoCaptions(caps, img, true)).Message);
        File.WriteAllText(caps, """{"images": [{"id": 1, "file_name": "missing.png"}], "annotations": []}""");
        Assert.Contains("not found", Assert.Throws<DataFormatException>(() => VisionLanguage.CocoCaptions(caps, img, true)).Message);
        File.WriteAllText(caps, """{"images": [{"id": 1, "file_name": "im0.png"}], "annotations": [{"image_id": 1, "caption": ""}]}""");
        Assert.Contains("annotations[0].caption", Assert.Throws<DataFormatException>(() => VisionLanguage.CocoCaptions(caps, img, true)).Message);
        File.WriteAllText(caps, "{\"images\": [");
        Assert.Contains(caps, Assert.Throws<DataFormatException>(() => VisionLanguage.CocoCaptions(caps, img, true)).Message);
        var ans = Path.Combine(d, "answers.json");
        File.WriteAllText(ans, """{"annotations": [{"question_id": 100, "multiple_choice_answer": "maybe", "answer_type": "yes/no"}]}""");
        File.WriteAllText(caps, """{"images": [{"id": 10, "file_name": "im0.png"}], "annotations": []}""");
        e = Assert.Throws<DataFormatException>(() => VisionLanguage.VqaYesNo(Path.Combine(d, "questions.json"), ans, caps, img, true));
        Assert.Contains("multiple_choice_answer is 'maybe'", e.Message);
    }

    [Fact]
    public void FuzzedJsonLoadsOrThrowsDataFormatException()
    {
        var d = Fixture();
        string caps = Path.Combine(d, "captions.json"), img = Path.Combine(d, "img");
        var fixture = File.ReadAllBytes(caps);
        var rng = new Random(5);
        int ok = 0, rejected = 0;
        for (int i = 0; i < 150; i++)
        {
            var b = (byte[])fixture.Clone();
            int kind = rng.Next(3);
            if (kind == 0) for (int k = 0; k < 1 + rng.Next(4); k++) b[rng.Next(b.Length)] = (byte)rng.Next(32, 127);
            else if (kind == 1) b = b[..rng.Next(b.Length)];
            else { int at = rng.Next(b.Length), len = rng.Next(1, 16); b = [.. b[..at], .. b[Math.Min(b.Length, at + len)..]]; }
            File.WriteAllBytes(caps, b);
            try { VisionLanguage.CocoCaptions(caps, img, true, side: 4); ok++; }
            catch (DataFormatException) { rejected++; }
            catch (Exception e) { Assert.Fail($"mutation {i} (kind {kind}): {e.GetType().Name}: {e.Message}"); }
        }
        Assert.True(rejected > 0 && ok + rejected == 150, $"ok {ok}, rejected {rejected}");
    }
}
