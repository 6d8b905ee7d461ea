using MetaMae.Model;
using TorchSharp;

namespace MetaMae.Training;

/// <summary>
/// A run's loss curves for TensorBoard (one event file under dir): loss/total, loss/reconstruction,
/// loss/contrast and MetaMAE's adaptation/* per step, each where the objective has it.
/// </summary>
internal sealed class TensorBoardMonitor(string dir) : ITrainingMonitor
{
    private TorchSharp.Modules.SummaryWriter? tb;

    public void OnStart(RunConfig config, int startStep, string message) =>
        OutputWriteException.Guard(dir, () => tb = torch.utils.tensorboard.SummaryWriter(dir));

    public void OnStepDone(StepMetrics m, MetaMaeModel model) => OutputWriteException.Guard(dir, () =>
    {
        tb?.add_scalar("loss/total", (float)m.Loss, m.Step);
        if (!double.IsNaN(m.Contrast)) tb?.add_scalar("loss/contrast", (float)m.Contrast, m.Step);
        tb?.add_scalar("loss/reconstruction", (float)m.Reconstruction, m.Step);
        if (!double.IsNaN(m.LatentChange)) tb?.add_scalar("adaptation/latent_change", (float)m.LatentChange, m.Step);
        if (!double.IsNaN(m.InnerGain)) tb?.add_scalar("adaptation/inner_gain", (float)m.InnerGain, m.Step);
    });
}
