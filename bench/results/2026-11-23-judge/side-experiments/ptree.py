import os,sys,json
root=int(sys.argv[1])
def stat(p):
    s=open(f'/proc/{p}/stat').read(); a=s[s.rfind(')')+2:].split()
    return int(a[1]),[int(x) for x in a[11:15]], s[s.find('(')+1:s.rfind(')')]
procs={}
for d in os.listdir('/proc'):
    if d.isdigit():
        try: procs[int(d)]=stat(int(d))
        except Exception: pass
want=[root];i=0
while i<len(want):
    for p,(pp,_,_) in procs.items():
        if pp==want[i] and p not in want: want.append(p)
    i+=1
out={}
for p in want:
    pp,t,name=procs[p]
    out[p]={'ppid':pp,'name':name,'t':t,'threads':{}}
    try:
        for tid in os.listdir(f'/proc/{p}/task'):
            s=open(f'/proc/{p}/task/{tid}/stat').read(); a=s[s.rfind(')')+2:].split()
            out[p]['threads'][tid]=(s[s.find('(')+1:s.rfind(')')],int(a[11]),int(a[12]))
    except Exception: pass
print(json.dumps(out))
