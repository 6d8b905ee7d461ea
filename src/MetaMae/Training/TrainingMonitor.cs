using MetaMae.Model;
using MetaMae.Distributed;

namespace MetaMae.Training;

/// <summary>One progress report of a pretraining run.</summary>
/// LatentChange (||Z* - Z|| / ||Z||) and InnerGain (L_Q(Z) - L_Q(Z*)): MetaMAE's adaptation, NaN for other objectives.
public sealed record StepReport(int Step, int TotalSteps, double Loss, double Reconstruction, double Contrast, double Inner,
    double StepsPerSecond, TimeSpan Eta, long RssBytes, double LatentChange = double.NaN, double InnerGain = double.NaN);

/// <summary>
/// The numbers of one optimizer step (a row of metrics.csv). LatentChange and InnerGain are measured on
/// logging steps of MetaMAE only, NaN otherwise; Seconds: since this sitting of the run began.
/// </summary>
public sealed record StepMetrics(int Step, double Loss, double Reconstruction, double Contrast, double Inner,
    double LatentChange, double InnerGain, double Seconds)
{
    /// <summary>Logging steps of MetaMAE: the share of the encoder's gradient norm from lambda x contrast alone.</summary>
    public double ContrastShare { get; init; } = double.NaN;
    /// <summary>Logging steps of second-order MetaMAE: the share from the inner step's second-order path alone.</summary>
    public double SecondOrderShare { get; init; } = double.NaN;
}

/// <summary>
/// Receives what a pretraining run reports: the CLI renders progress, metrics.csv (MetricsCsvMonitor) and
/// TensorBoard's curves (TensorBoardMonitor) are written through it, tests listen. Under DataParallel only
/// rank 0's monitors are called. Every member does nothing unless implemented.
/// </summary>
public interface ITrainingMonitor
{
    /// <summary>Once, before the first step of this sitting (startStep: the checkpoint's step on a resume).</summary>
    void OnStart(RunConfig config, int startStep, string message) { }

    /// <summary>A line for the user: right after OnStart (the memory estimate, an adaptation the run made), or during the
    /// steps (AdaptationWatch's warning).</summary>
    void OnNote(string line) { }

    /// <summary>After every optimizer step, outside its dispose scope; a monitor leaves model's mode as it found it.</summary>
    void OnStepDone(StepMetrics metrics, MetaMaeModel model) { }

    /// <summary>Before a checkpoint is written and when the run ends or stops: buffered output reaches its file.</summary>
    void Flush() { }

    /// <summary>After a checkpoint of `step` was written to path.</summary>
    void OnCheckpoint(int step, string path) { }

    /// <summary>On logging steps (the sitting's first, every --log-every, the last), after any checkpoint of the step.</summary>
    void OnStep(StepReport report) { }
}

/// <summary>Several monitors as one, each call passed to them in the order given (nulls are left out).</summary>
public sealed class CombinedMonitor(params ITrainingMonitor?[] monitors) : ITrainingMonitor
{
    private readonly ITrainingMonitor[] parts = [.. monitors.OfType<ITrainingMonitor>()];

    public void OnStart(RunConfig config, int startStep, string message)
    {
        foreach (var m in parts) m.OnStart(config, startStep, message);
    }

    public void OnNote(string line)
    {
        foreach (var m in parts) m.OnNote(line);
    }

    public void OnStepDone(StepMetrics metrics, MetaMaeModel model)
    {
        foreach (var m in parts) m.OnStepDone(metrics, model);
    }

    public void Flush()
    {
        foreach (var m in parts) m.Flush();
    }

    public void OnCheckpoint(int step, string path)
    {
        foreach (var m in parts) m.OnCheckpoint(step, path);
    }

    public void OnStep(StepReport report)
    {
        foreach (var m in parts) m.OnStep(report);
    }
}
