namespace MetaMae.Cli;

/// <summary>Progress of a pretraining run on stderr: a live bar on a terminal, plain lines otherwise (CI, pipes).</summary>
internal sealed class ConsoleMonitor(ProgressTask? task, string label) : ITrainingMonitor
{
    public void OnStart(RunConfig config, int startStep, string message)
    {
        if (task is not null) { task.MaxValue = config.Train.Steps; task.Value = startStep; }
        Log($"{label}: {message}; {config.Algo} on {config.Dataset}, {config.Train.Steps} steps, " +
            $"batch {config.Train.Batch}, seed {config.Train.Seed}, " +
            $"precision {EnumNames<Precision>.Of(config.Train.Precision)}");
    }

    public void OnNote(string line) => Log($"{label}: {line}");

    public void OnStep(StepReport r)
    {
        string extra = double.IsNaN(r.Contrast) ? "" : $" contrast {r.Contrast:F4}";
        // MetaMAE's adaptation: a no-op shows as a latent change near 0 and no inner gain
        string adapt = double.IsNaN(r.LatentChange) ? ""
            : $" latent change {r.LatentChange:0.0e+0} inner gain {r.InnerGain:+0.0e+0;-0.0e+0}";
        string line = $"step {r.Step}/{r.TotalSteps} loss {r.Loss:F4} (recon {r.Reconstruction:F4}{extra}){adapt} " +
            $"{r.StepsPerSecond:F2} steps/s ETA {Fmt(r.Eta)} rss {r.RssBytes >> 20} MB";
        if (task is not null)
        {
            task.Value = r.Step;
            string dz = double.IsNaN(r.LatentChange) ? "" : $" dz {r.LatentChange:0.0e+0}";
            task.Description = $"{label} loss {r.Loss:F4}{dz} {r.StepsPerSecond:F2} it/s";
        }
        else Log($"{label}: {line}");
    }

    public void OnCheckpoint(int step, string path)
    {
        if (task is null) Log($"{label}: checkpoint at step {step} -> {path}");
    }

    private void Log(string s)
    {
        if (task is not null) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(s)}[/]");
        else Console.Error.WriteLine(s);
    }

    internal static string Fmt(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : $"{t.Minutes}m{t.Seconds:D2}s";

    /// <summary>Runs body with a live progress bar when stderr is a terminal, else with line output.</summary>
    public static T With<T>(string label, Func<ITrainingMonitor, T> body)
    {
        bool live = !Console.IsErrorRedirected && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (!live) return body(new ConsoleMonitor(null, label));
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(),
                new RemainingTimeColumn())
            .Start(ctx => { var t = ctx.AddTask(label); result = body(new ConsoleMonitor(t, label)); t.StopTask(); });
        return result;
    }
}
