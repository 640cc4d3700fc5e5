-- AlterTable
ALTER TABLE "ImportRecord" ADD COLUMN "failure" JSONB;
