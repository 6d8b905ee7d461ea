using System.Text.Json.Nodes;
using MetaMae.Experiments;
using MetaMae.Objectives;
using MetaMae.Training;

namespace MetaMae.Tests;

/// <summary>`--recipe cpu` (issue 31): the measured CPU recipe under whatever the user gives explicitly.</summary>
public class RecipeTests
{
    [Fact]
    public void FillTakesTheRecipeWhereTheUserGaveNothing()
    {
        var meta = CpuRecipe.Fill(new RunOverrides(), Algorithms.MetaMae, 2000);
        Assert.Equal((4000, 32, 1e-3, LrSchedule.Cosine, 400), (meta.Steps, meta.Batch, meta.Lr, meta.LrSchedule, meta.WarmupSteps));
        Assert.Equal((InnerLossScaling.Paper, 1.0), (meta.InnerLoss, meta.Alpha));
        var mae = CpuRecipe.Fill(new RunOverrides { Steps = 1000, Lr = 5e-4 }, Algorithms.Mae, 20);
        Assert.Equal((1000, 20, 5e-4, 100), (mae.Steps, mae.Batch, mae.Lr, mae.WarmupSteps));  // batch <= the samples
        Assert.Null(mae.InnerLoss);                                                           // MAE has no inner loss
        Assert.Null(mae.Alpha);
    }

    [Fact]
    public void RunRecipeCpuStoresTheRecipesSettingsAndKeepsExplicitFlags()
    {
        var dir = Tmp.Dir("recipe-cpu");
        var (code, _, err) = CliTests.Metamae("pretrain", "--dataset", "dna-splice", "--recipe", "cpu", "--steps", "2",
            "--batch", "8", "--out", dir, "--threads", "1");
        Assert.True(code == 0, err);
        var c = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        Assert.Equal(128, (int)c["model"]!["enc_dim"]!);                             // the small preset
        Assert.Equal(8, (int)c["train"]!["batch"]!);                                 // explicit --batch kept
        Assert.Equal(1e-3, (double)c["train"]!["lr"]!);
        Assert.Equal("cosine", (string?)c["train"]!["lr_schedule"]);
        Assert.Equal("paper", (string?)c["objective"]!["inner_loss"]);
        Assert.Equal(1.0, (double)c["objective"]!["alpha"]!);
        (code, _, err) = CliTests.Metamae("pretrain", "--dataset", "dna-splice", "--recipe", "gpu", "--steps", "2");
        Assert.Equal(2, code);
        Assert.Contains("--recipe must be paper or cpu", err);
    }
}
