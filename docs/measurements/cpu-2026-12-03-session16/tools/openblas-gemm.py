import numpy as np, time, os, sys
np.random.seed(0)
shapes=[("in_proj",4096,768,3376),("out_proj",4096,1536,768),("fc_D",4096,1536,24),("inL2",384,768,256)]
for name,M,K,N in shapes:
    x=np.random.randn(M,K).astype(np.float32); w=np.random.randn(K,N).astype(np.float32)
    y=np.empty((M,N),np.float32)
    reps=max(3,int(2e10/(2*M*K*N)))
    for _ in range(3): np.matmul(x,w,out=y)
    ts=[]
    for r in range(7):
        t=time.perf_counter()
        for _ in range(reps): np.matmul(x,w,out=y)
        ts.append((time.perf_counter()-t)/reps)
    ts.sort()
    g=2*M*K*N/ts[3]/1e9
    print(f"{name:9s} {M}x{K}->{N} threads={os.environ.get('OPENBLAS_NUM_THREADS')} median {ts[3]*1e3:.2f} ms {g:.1f} GFLOP/s (min {ts[0]*1e3:.2f})")
