using System.Text.Json.Nodes;
using MetaMae.Data;
using MetaMae.Experiments;
using MetaMae.Objectives;
using MetaMae.Training;

namespace MetaMae.Tests;

/// <summary>The run settings are defined once (RunSettingTable, issue 30): the training commands' flags, plan row keys,
/// resume checks and SameRunAs follow the table.</summary>
public class RunSettingTableTests
{
    /// <summary>c with the setting at a value other than its own (numbers + 1, a switch flipped, the next choice).
    /// </summary>
    static RunConfig Changed(RunSetting s, RunConfig c) => s switch
    {
        RunSetting<int> i => i.Store(c, i.Stored(c) + 1),
        RunSetting<double> d => d.Store(c, d.Stored(c) + 0.25),
        RunSetting<bool> b => b.Store(c, !b.Stored(c)),
        _ => NextChoice(s, c),
    };

    static RunConfig NextChoice(RunSetting s, RunConfig c)
    {
        var type = s.GetType().GetGenericArguments().Single();
        Assert.True(type.IsEnum, $"{s.Key}: a setting of type {type.Name} this test does not know");
        var values = Enum.GetValues(type);
        var now = s.GetType().GetMethod("Stored")!.Invoke(s, [c])!;
        var next = values.GetValue((Array.IndexOf(values, now) + 1) % values.Length)!;
        return s.Store(c, next);
    }

    [Fact]
    public void SameRunAsIgnoresExactlyTheSettingsAResumeMayChange()
    {
        var c = TrainingTests.Config(Algorithms.MetaMae, 4);
        foreach (var s in RunSettingTable.All)
        {
            var other = Changed(s, c);
            Assert.True(s.StoredText(other) != s.StoredText(c), $"{s.Key}: the test did not change it");
            Assert.True(c.SameRunAs(other) == (s.Resume == OnResume.MayChange),
                $"{s.Key} ({s.Resume}): SameRunAs says {c.SameRunAs(other)}");
        }
    }

    [Fact]
    public void EveryPlanKeyReachesTheCellsConfiguration()
    {
        var ds = Catalog.Load("spambase");
        var defaults = RunSettings.Resolve(Algorithms.MetaMae, "spambase", ds.Spec, Table8.Higgs, "tiny", 0);
        var dir = Tmp.Dir("plan-keys");
        foreach (var s in RunSettingTable.All.Where(s => s.InPlans))
        {
            // the value to give: the default changed, as JSON
            var want = s.StoredText(Changed(s, defaults));
            JsonNode value = s switch
            {
                RunSetting<int> => JsonValue.Create(int.Parse(want)),
                RunSetting<double> => JsonValue.Create(double.Parse(want, System.Globalization.CultureInfo.InvariantCulture)),
                RunSetting<bool> => JsonValue.Create(want == "true"),
                _ => JsonValue.Create(want),
            };
            var settings = new JsonObject { [s.Key] = value };
            if (s == RunSettingTable.Schedule) settings["warmup_steps"] = 1;        // cosine needs warm-up < steps
            var path = Path.Combine(dir, $"{s.Key}.json");
            File.WriteAllText(path, new JsonObject
            {
                ["name"] = "p", ["kind"] = "ablation", ["preset"] = "tiny", ["steps"] = 10, ["seeds"] = new JsonArray(0),
                ["datasets"] = new JsonArray("spambase"),
                ["rows"] = new JsonArray(new JsonObject { ["label"] = "r", ["algo"] = "metamae", ["settings"] = settings }),
            }.ToJsonString());
            var plan = ExperimentPlan.Load(path);
            var cfg = plan.CellConfig(plan.Rows[0], "spambase", ds.Spec, Table8.Higgs, 0);
            Assert.True(s.StoredText(cfg) == want, $"{s.Key}: the cell has {s.StoredText(cfg)}, the plan gave {want}");
        }
        Assert.Equal(RunSettingTable.All.Where(s => s.InPlans).Select(s => s.Key),
            ExperimentPlan.SettingKeys.Where(RunSettingTable.PlanKeys.Contains));
    }

    [Theory]
    [InlineData("pretrain")]
    [InlineData("run")]
    public void EveryRunSettingIsAFlagOfTheTrainingCommands(string command)
    {
        var (code, help, err) = CliTests.Metamae(command, "--help");
        Assert.True(code == 0, err);
        foreach (var s in RunSettingTable.All)
            Assert.Matches($@"(?m)^\s+{System.Text.RegularExpressions.Regex.Escape(s.Flag)}\b", help);
    }

    [Fact]
    public void AResumeNamesEveryConflictingSettingAndWhatMayChange()
    {
        var dir = Tmp.Dir("resume-table");
        var first = CliTests.Metamae("pretrain", "--dataset", "spambase", "--preset", "tiny", "--steps", "2", "--batch", "8",
            "--threads", "1", "--out", dir);
        Assert.True(first.Code == 0, first.Err);
        var (code, _, err) = CliTests.Metamae("pretrain", "--out", dir, "--resume", "--steps", "3", "--alpha", "7",
            "--min-visible", "2", "--lr", "0.0002");
        Assert.Equal(2, code);
        Assert.Contains("--alpha 7 (the run has", err);
        Assert.Contains("--min-visible 2 (the run has 1)", err);
        Assert.DoesNotContain("--lr 0.0002 (", err);                     // a resume may change it
        Assert.Contains($"(only {RunSettingTable.MayChangeFlags()} may change)", err);
        Assert.Contains("--steps, --save-every, --log-every, --lr and --precision", err);
    }
}
