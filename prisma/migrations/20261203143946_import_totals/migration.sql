-- AlterTable
ALTER TABLE "ImportRecord" ADD COLUMN "conflictCount" INTEGER;
ALTER TABLE "ImportRecord" ADD COLUMN "recordCount" INTEGER;
