using MetaMae.Data;

namespace MetaMae.Evaluation;

/// <summary>What a probe on small data should say before it runs.</summary>
public static class ProbeNotes
{
    /// <summary>
    /// One line per class with fewer than 3 training samples: <see cref="LinearProbe.CarveValidation"/> holds out
    /// one of 2 samples and none of 1, so such a class is scored on at most one validation sample, or none.
    /// </summary>
    public static IEnumerable<string> SmallClasses(Dataset ds)
    {
        if (ds.Train.Labels is null || ds.Task != TaskKind.Classification) yield break;
        var counts = ds.Train.Labels.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        for (int c = 0; c < ds.ClassNames.Length; c++)
        {
            int n = counts.GetValueOrDefault(c);
            if (n == 1)
                yield return $"probe: class '{ds.ClassNames[c]}' has 1 training sample: " +
                    "it is trained on but never validated (none held out)";
            else if (n == 2)
                yield return $"probe: class '{ds.ClassNames[c]}' has 2 training samples: one is held out for validation, one is trained on";
        }
    }
}
