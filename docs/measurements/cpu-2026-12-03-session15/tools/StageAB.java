package dev.hydra.kernels;
import dev.hydra.backend.*;
import java.util.*;
public class StageAB {
  static final boolean CONTIG=Boolean.getBoolean("contig");
  public static void main(String[] a) throws Exception {
    int threads=Integer.parseInt(a[0]), rounds=Integer.parseInt(a[1]);
    String[] names=Arrays.copyOfRange(a,2,a.length);
    int rows=4096, proj=3376, dIn=1536, conv=1792, H=24;
    Random r=new Random(1);
    float[] src=new float[rows*proj], w=new float[conv*4], bias=new float[conv], dtb=new float[2*H];
    for(int i=0;i<src.length;i++)src[i]=(float)r.nextGaussian(); for(int i=0;i<w.length;i++)w[i]=r.nextFloat()-0.5f; for(int i=0;i<conv;i++)bias[i]=r.nextFloat()-0.5f; for(int i=0;i<2*H;i++)dtb[i]=r.nextFloat()-3;
    Backend[] bs=new Backend[names.length]; Buf[][] bufs=new Buf[names.length][];
    for(int v=0;v<names.length;v++){ bs[v]=(Backend)Class.forName("dev.hydra.kernels."+names[v]).getConstructor(int.class).newInstance(threads);
      bufs[v]=new Buf[]{bs[v].upload(src),bs[v].upload(w),bs[v].upload(bias),bs[v].allocate((long)rows*conv),bs[v].upload(dtb),bs[v].allocate((long)rows*2*H), bs[v].upload(Arrays.copyOf(src,rows*conv))}; }
    Sequences seqs=Sequences.uniform(8,512);
    double[][][] t=new double[2][names.length][rounds];
    for(int rd=-5;rd<rounds;rd++) for(int v0=0;v0<names.length;v0++){ int v=(v0+Math.max(rd,0))%names.length; Buf[] b=bufs[v];
      for(int rep=0;rep<3;rep++){ long t0=System.nanoTime(); if(CONTIG) bs[v].convSilu(b[6],conv,0,seqs,conv,b[1],b[2],4,b[3]); else bs[v].convSilu(b[0],proj,dIn,seqs,conv,b[1],b[2],4,b[3]); long t1=System.nanoTime();
        bs[v].softplusDt(b[0],proj,proj-2*H,rows,2*H,b[4],0.001f,0.1f,b[5]); long t2=System.nanoTime();
        if(rd>=0){ double c=(t1-t0)*1e-6, d=(t2-t1)*1e-6; t[0][v][rd]= rep==0? c : Math.min(t[0][v][rd],c); t[1][v][rd]= rep==0? d : Math.min(t[1][v][rd],d);} } }
    String[] st={"conv","dt"};
    for(int s=0;s<2;s++) for(int v=0;v<names.length;v++){ double[] c=t[s][v].clone(); Arrays.sort(c); System.out.printf("%-5s %-6s %d threads: median %.3f ms, min %.3f%n",st[s],names[v],threads,c[c.length/2],c[0]); }
    for(int k : new int[]{3,5}){ float[] y0=HeapBuf.of(bufs[0][k]);
    for(int v=1;v<names.length;v++){ float[] yv=HeapBuf.of(bufs[v][k]); int diff=0; for(int i=0;i<y0.length;i++) if(Float.floatToRawIntBits(y0[i])!=Float.floatToRawIntBits(yv[i])) diff++; System.out.println(names[v]+" buf "+k+" differing floats vs "+names[0]+": "+diff); } }
  }
}
