package dev.hydra.kernels;
public class SiluAB {
  public static void main(String[] a) {
    int n=1536, rows=4096; float[] in=new float[rows*n], out=new float[n], out2=new float[n], tmp=new float[n]; java.util.Random r=new java.util.Random(1); for(int i=0;i<in.length;i++) in[i]=(float)r.nextGaussian()*2;
    for(int rep=0;rep<30;rep++){ long t0=System.nanoTime(); for(int row=0;row<rows;row++) VB0.exp(in,row*n,out,0,n,false); long t1=System.nanoTime();
      for(int row=0;row<rows;row++) VB2.exp(in,row*n,out,0,n,false); long t2=System.nanoTime();
      if(rep>=25) System.out.printf("exp old %.2f ns/vector, new %.2f ns/vector%n",(t1-t0)*16.0/rows/n,(t2-t1)*16.0/rows/n); }
    // bits: every 97th float bit pattern, both flush modes
    float[] a1=new float[1<<16], o1=new float[1<<16], o2=new float[1<<16]; long diff=0, total=0;
    for(long b=0;b<(1L<<32);b+=97L*(1<<16)) { for(int i=0;i<a1.length;i++) a1[i]=Float.intBitsToFloat((int)(b+97L*i)); 
      for(boolean fl: new boolean[]{false,true}){ VB0.exp(a1,0,o1,0,a1.length,fl); VB2.exp(a1,0,o2,0,a1.length,fl); for(int i=0;i<a1.length;i++){ total++; if(Float.floatToRawIntBits(o1[i])!=Float.floatToRawIntBits(o2[i])) diff++; } } }
    float[] sp={Float.NaN,Float.POSITIVE_INFINITY,Float.NEGATIVE_INFINITY,0f,-0f,88f,88.1f,-104f,-104.1f,-87.33f,-87.34f,Float.MIN_VALUE,-Float.MAX_VALUE,Float.MAX_VALUE,1,-1};
    float[] s16=java.util.Arrays.copyOf(sp,16), p1=new float[16], p2=new float[16];
    for(boolean fl: new boolean[]{false,true}){ VB0.exp(s16,0,p1,0,16,fl); VB2.exp(s16,0,p2,0,16,fl); for(int i=0;i<16;i++){ total++; if(Float.floatToRawIntBits(p1[i])!=Float.floatToRawIntBits(p2[i])) { diff++; System.out.println("special "+s16[i]+" "+p1[i]+" "+p2[i]); } } }
    System.out.println("exp floats compared "+total+", differing "+diff);
    for(int row=0;row<rows;row+=7){ VB0.silu(in,row*n,out,0,n); VB2.silu(in,row*n,out2,0,n,tmp); for(int i=0;i<n;i++) if(Float.floatToRawIntBits(out[i])!=Float.floatToRawIntBits(out2[i])) diff++; }
    System.out.println("after silu differing "+diff);
  }
}
