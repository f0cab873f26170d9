-- Terraform's pg backend keeps each product's state in the catalog's database
-- and numbers states from this sequence, which its first `terraform init`
-- creates. Concurrent first inits on a new catalog race to create it and the
-- losers fail; created here, it always exists. (Statement as the backend
-- issues it.)
CREATE SEQUENCE IF NOT EXISTS public.global_states_id_seq AS bigint;
