using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Data.Generators;

/// <summary>
/// SYNTHETIC, seeded stand-in for PAMAP2 (no real PAMAP2 data ships): 52-channel x 320-step windows
/// (3.2 s at 100 Hz) in the DABS channel order: heart rate, then for each of three IMUs (hand, chest,
/// ankle) 17 channels: temperature, 3-axis accelerometer (+-16 g), 3-axis accelerometer (+-6 g, clips),
/// 3-axis gyroscope, 3-axis magnetometer, 4 orientation values (invalid in PAMAP2: a fixed quaternion here).
/// 12 activities (PAMAP2 ids 1,2,3,4,5,6,7,12,13,16,17,24) differ in posture (the gravity direction each IMU
/// sees), rhythm (step / pedal / swing frequency and amplitude per IMU) and heart rate. Each window draws a
/// "subject" (sensor tilt, body temperature, resting heart rate, heading), slow drift and sensor noise.
/// Subjects 1-7 give the training windows, 8-9 the test windows (subject-disjoint, as DABS splits PAMAP2).
/// </summary>
public static class Pamap2Like
{
    public static readonly string[] Activities =
        ["lying", "sitting", "standing", "walking", "running", "cycling", "nordic_walking",
         "ascending_stairs", "descending_stairs", "vacuum_cleaning", "ironing", "rope_jumping"];

    // posture: gravity direction (unit, sensor frame) for hand, chest, ankle
    static readonly double[][][] Gravity =
    [
        [[0, 0, 1], [1, 0, 0], [0, 1, 0]],            // lying
        [[0.5, 0.7, 0.5], [0, 1, 0.2], [0.3, 0.9, 0.3]], // sitting
        [[1, 0, 0], [0, 1, 0], [1, 0, 0]],            // standing
        [[1, 0.1, 0], [0, 1, 0.1], [1, 0.2, 0]],      // walking
        [[0.7, 0.7, 0], [0, 1, 0.3], [1, 0.3, 0]],    // running
        [[0.3, 0.9, 0.3], [0, 0.9, 0.4], [0.7, 0.7, 0]], // cycling
        [[1, 0.3, 0], [0, 1, 0.2], [1, 0.2, 0]],      // nordic walking
        [[1, 0.1, 0.1], [0, 1, 0.25], [0.9, 0.4, 0]], // ascending stairs
        [[1, 0.1, 0.1], [0, 1, -0.1], [0.9, -0.3, 0]],// descending stairs
        [[0.6, 0.6, 0.5], [0, 0.9, 0.4], [1, 0, 0]],  // vacuum cleaning
        [[0.4, 0.8, 0.4], [0, 1, 0.1], [1, 0, 0]],    // ironing
        [[1, 0, 0.1], [0, 1, 0], [1, 0.1, 0]],        // rope jumping
    ];
    // rhythm frequency (Hz) and acceleration amplitude (m/s^2) at hand, chest, ankle; heart rate (bpm)
    static readonly (double F, double Ah, double Ac, double Aa, double Hr)[] Rhythm =
    [
        (0.0, 0.05, 0.05, 0.05, 75), (0.0, 0.3, 0.1, 0.1, 80), (0.0, 0.4, 0.15, 0.15, 88),
        (1.8, 3.0, 2.0, 8.0, 110), (2.8, 8.0, 6.0, 18.0, 160), (1.3, 0.8, 1.0, 5.0, 125),
        (1.7, 6.0, 2.5, 8.5, 125), (1.5, 2.5, 2.5, 9.0, 130), (1.9, 3.0, 3.0, 11.0, 120),
        (0.8, 5.0, 1.5, 1.0, 105), (0.5, 2.0, 0.3, 0.2, 90), (2.4, 9.0, 9.0, 22.0, 165),
    ];

    public const int Channels = 52, Steps = 320, Hz = 100;

    public static Dataset Generate(int perClassTrain = 40, int perClassTest = 20, int seed = 0)
    {
        var rng = new Random(seed);
        int n = Activities.Length * (perClassTrain + perClassTest);
        var flat = new float[n * Channels * Steps];
        var labels = new List<string>();
        var isTrain = new List<bool>();
        int k = 0;
        // subjects: tilt, temperature, resting heart rate, heading, fitness (rhythm scale)
        var subjects = Enumerable.Range(0, 9).Select(_ => (Tilt: Gauss(rng) * 0.15, Temp: 32 + Gauss(rng), Hr: Gauss(rng) * 8,
            Heading: rng.NextDouble() * 2 * Math.PI, Fit: 1 + 0.1 * Gauss(rng))).ToArray();
        for (int a = 0; a < Activities.Length; a++)
            for (int i = 0; i < perClassTrain + perClassTest; i++)
            {
                bool train = i < perClassTrain;
                var s = subjects[train ? rng.Next(7) : 7 + rng.Next(2)];
                Window(rng, a, s.Tilt, s.Temp, s.Hr, s.Heading, s.Fit, flat, k * Channels * Steps);
                labels.Add($"{a:D2}_{Activities[a]}");
                isTrain.Add(train);
                k++;
            }
        var x = Formats.Standardize(tensor(flat, [n, Channels, Steps]), isTrain, 1);
        return Readers.Build("pamap2-like", "(generator pamap2-like)", new SequenceSpec(Channels, Steps, 5), x, labels, isTrain, true);
    }

    static void Window(Random rng, int a, double tilt, double temp, double rest, double heading, double fit, float[] buf, int off)
    {
        var (f0, ah, ac, aa, hr) = Rhythm[a];
        double f = f0 * fit * (1 + 0.08 * Gauss(rng));
        double phase = rng.NextDouble() * 2 * Math.PI;
        double hr0 = hr + rest + 5 * Gauss(rng), hrSlope = Gauss(rng) * 2;
        double hd = heading + Gauss(rng) * 0.3;
        void Set(int ch, int t, double v) => buf[off + ch * Steps + t] = (float)v;
        for (int t = 0; t < Steps; t++) Set(0, t, hr0 + hrSlope * t / Steps + 0.5 * Gauss(rng));
        double[] amp = [ah, ac, aa];
        for (int imu = 0; imu < 3; imu++)
        {
            int b = 1 + imu * 17;
            var g = Gravity[a][imu];
            double gn = Math.Sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
            double[] gd = [g[0] / gn + tilt, g[1] / gn - tilt, g[2] / gn + 0.5 * tilt];
            double[] axis = [rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5];
            double imuPhase = phase + imu * 0.7;
            double[] drift = new double[3];
            double tempI = temp - imu * 1.5 + (f0 > 1 ? 0.5 : 0) + 0.2 * Gauss(rng);
            for (int t = 0; t < Steps; t++)
            {
                double time = t / (double)Hz;
                double osc = Math.Sin(2 * Math.PI * f * time + imuPhase) + 0.35 * Math.Sin(4 * Math.PI * f * time + 2 * imuPhase);
                for (int d = 0; d < 3; d++) drift[d] += 0.01 * Gauss(rng);
                Set(b, t, tempI + 0.002 * t / Steps + 0.01 * Gauss(rng));
                for (int d = 0; d < 3; d++)
                {
                    double acc = 9.81 * gd[d] + amp[imu] * osc * (0.5 + axis[d]) + drift[d] + 0.15 * Gauss(rng);
                    Set(b + 1 + d, t, acc);
                    Set(b + 4 + d, t, Math.Clamp(acc, -6 * 9.81, 6 * 9.81) + 0.1 * Gauss(rng));
                    double gyro = amp[imu] * 0.2 * 2 * Math.PI * f * Math.Cos(2 * Math.PI * f * time + imuPhase) * axis[d]
                                  + 0.02 * Gauss(rng);
                    Set(b + 7 + d, t, gyro);
                    double sway = 0.1 * amp[imu] / 10 * osc;
                    double mag = d switch
                    {
                        0 => 30 * Math.Cos(hd + sway),
                        1 => 30 * Math.Sin(hd + sway),
                        _ => -40 + 5 * gd[2],
                    }
                                 + 0.8 * Gauss(rng);
                    Set(b + 10 + d, t, mag);
                }
                for (int q = 0; q < 4; q++) Set(b + 13 + q, t, q == 0 ? 1 : 0);
            }
        }
    }

    internal static double Gauss(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
}
