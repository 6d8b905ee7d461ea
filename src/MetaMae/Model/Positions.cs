using static TorchSharp.torch;

namespace MetaMae.Model;

/// <summary>Fixed sin-cos position tables (MAE's get_1d/2d_sincos_pos_embed), with a zero row 0 for CLS.</summary>
public static class Positions
{
    /// <summary>1D table for positions 0..n-1: (n, dim) as [sin(p w_i), cos(p w_i)], w_i = 10000^(-i/(dim/2)).</summary>
    public static double[,] SinCos1D(int dim, double[] pos)
    {
        if (dim % 2 != 0) throw new ArgumentException($"sin-cos positions need an even width (got {dim})");
        int half = dim / 2;
        var t = new double[pos.Length, dim];
        for (int p = 0; p < pos.Length; p++)
            for (int i = 0; i < half; i++)
            {
                double w = 1.0 / Math.Pow(10000.0, i / (double)half);
                t[p, i] = Math.Sin(pos[p] * w);
                t[p, half + i] = Math.Cos(pos[p] * w);
            }
        return t;
    }

    /// <summary>
    /// Table for a (rows x cols) token grid, row-major, CLS row first (zeros): (1, 1 + rows*cols, dim).
    /// 1D grids (rows = 1) use the 1D table over all of dim; 2D grids give half of dim to each
    /// axis, the first half encoding the column and the second the row, as MAE does.
    /// </summary>
    public static Tensor Table(int dim, int rows, int cols)
    {
        int n = rows * cols;
        var flat = new float[(n + 1) * dim];
        if (rows == 1)
        {
            var t = SinCos1D(dim, Enumerable.Range(0, cols).Select(i => (double)i).ToArray());
            for (int p = 0; p < n; p++) for (int i = 0; i < dim; i++) flat[(p + 1) * dim + i] = (float)t[p, i];
        }
        else
        {
            if (dim % 4 != 0) throw new ArgumentException($"2D sin-cos positions need a width divisible by 4 (got {dim})");
            int half = dim / 2;
            var colPos = new double[n];
            var rowPos = new double[n];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) { colPos[r * cols + c] = c; rowPos[r * cols + c] = r; }
            var a = SinCos1D(half, colPos);
            var b = SinCos1D(half, rowPos);
            for (int p = 0; p < n; p++)
                for (int i = 0; i < half; i++)
                {
                    flat[(p + 1) * dim + i] = (float)a[p, i];
                    flat[(p + 1) * dim + half + i] = (float)b[p, i];
                }
        }
        return tensor(flat, [1, n + 1, dim]);
    }
}
