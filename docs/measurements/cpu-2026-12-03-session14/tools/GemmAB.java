package dev.hydra.kernels;
import dev.hydra.backend.*;
import java.util.*;
public class GemmAB {
  static final int EVICT=Integer.getInteger("evictMB",0); static float[] junk=new float[EVICT*262144];
  public static void main(String[] a) throws Exception {
    int threads=Integer.parseInt(a[0]), rows=Integer.parseInt(a[1]), in=Integer.parseInt(a[2]), out=Integer.parseInt(a[3]), rounds=Integer.parseInt(a[4]);
    String[] names=Arrays.copyOfRange(a,5,a.length);
    Backend[] bs=new Backend[names.length]; Buf[][] bufs=new Buf[names.length][];
    Random r=new Random(1);
    float[] x=new float[rows*in], w=new float[out*in], bias=new float[out];
    for(int i=0;i<x.length;i++)x[i]=r.nextFloat()-0.5f; for(int i=0;i<w.length;i++)w[i]=r.nextFloat()-0.5f; for(int i=0;i<out;i++)bias[i]=r.nextFloat();
    float[][] outs=new float[names.length][];
    for(int v=0;v<names.length;v++){ bs[v]=(Backend)Class.forName("dev.hydra.kernels."+names[v]).getConstructor(int.class).newInstance(threads);
      bufs[v]=new Buf[]{bs[v].upload(x),bs[v].upload(w),bs[v].upload(bias),bs[v].allocate((long)rows*out)}; }
    double[][] t=new double[names.length][rounds];
    for(int rd=-3;rd<rounds;rd++) for(int v0=0;v0<names.length;v0++){ int v=(v0+Math.max(rd,0))%names.length;
      for(int rep=0;rep<3;rep++){ if(EVICT>0){ for(int i=0;i<junk.length;i+=16) junk[i]+=1; } long t0=System.nanoTime(); bs[v].linear(bufs[v][0],in,0,rows,in,bufs[v][1],bufs[v][2],out,bufs[v][3]); double s=(System.nanoTime()-t0)*1e-9; if(rd>=0) t[v][rd]= rep==0? s : Math.min(t[v][rd],s);} }
    double fl=2.0*rows*in*out;
    for(int v=0;v<names.length;v++){ double[] c=t[v].clone(); Arrays.sort(c); System.out.printf("%-6s %dx%d->%d, %d threads: median %.2f ms (%.1f GFLOP/s), min %.2f ms (%.1f)%n",names[v],rows,in,out,threads,c[c.length/2]*1e3,fl/c[c.length/2]/1e9,c[0]*1e3,fl/c[0]/1e9); }
    float[] y0=dev.hydra.backend.HeapBuf.of(bufs[0][3]);
    for(int v=1;v<names.length;v++){ float[] yv=dev.hydra.backend.HeapBuf.of(bufs[v][3]); int diff=0; for(int i=0;i<y0.length;i++) if(Float.floatToRawIntBits(y0[i])!=Float.floatToRawIntBits(yv[i])) diff++; System.out.println(names[v]+" differing floats vs "+names[0]+": "+diff); }
  }
}
